"""Training: recipes (`config`), the resumable fit loop (`trainer`) and its callbacks."""
