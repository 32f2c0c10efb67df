"""Who may operate an instrument: what a lab requires per listing (or group of listings),
training requests and records, and the authorisations that follow, with their expiry."""
