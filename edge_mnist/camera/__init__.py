"""Live digit recognition from cameras, videos and images."""
