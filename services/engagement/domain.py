"""The engagement service's rules: hosted events (meetups, webinars, talks) and the alumni's answers to their invitations. Being built: nothing is decided here yet."""
