"""The referrals service's rules: referrals of candidates and clients by alumni, and their bonuses. Being built: nothing is decided here yet."""
