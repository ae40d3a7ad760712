"""The main job: bring the platform up on the embedded defaults and run the demo."""
