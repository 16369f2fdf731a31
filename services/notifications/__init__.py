"""The notifications service: Email and chat deliveries to alumni and internal teams."""
