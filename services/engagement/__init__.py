"""The engagement service: Hosted alumni events and their RSVPs."""
