"""One drop: its random choices (objects, start poses, cameras) and its PyBullet physics."""
