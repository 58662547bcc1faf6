"""HTTP routes (thin: parse the request, call a service, shape the response)."""
