"""The API's resources, one module per subject (catalogue, bookings, a lab's own records,
statistics), and the signed-in pages for tokens, webhooks and the documentation."""
