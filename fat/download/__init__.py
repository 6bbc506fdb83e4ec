"""fat download: the sources it fetches and the fetching."""
