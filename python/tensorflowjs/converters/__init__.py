"""Converters between Keras, TensorFlow, JAX and TF.js model formats, one module per format."""
