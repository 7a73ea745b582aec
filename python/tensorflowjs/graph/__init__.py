"""TensorFlow graphs to TF.js graph models: loading, optimising, checking, writing."""
