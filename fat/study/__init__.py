"""Looking at a dataset: statistics reports (fat stats), checks (fat validate), contact sheets (fat show)."""
