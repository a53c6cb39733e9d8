"""Prediction with a trained model: the Python API, segments of long recordings, portable bundles and the speech-emotion command."""
