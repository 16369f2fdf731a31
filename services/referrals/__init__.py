"""The referrals service: Candidate and client referrals by alumni, and their bonuses."""
