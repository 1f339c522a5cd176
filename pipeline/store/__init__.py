"""The cache root, reading runs, and the artifact contract every reader imports."""
