"""What every page shares: layout, security headers, error pages, field rendering."""
