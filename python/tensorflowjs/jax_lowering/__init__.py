"""Lowers JAX functions to TensorFlow ops that TF.js can execute, one primitive at a time.

Imported only by `convert_jax`, after it has checked that JAX and TensorFlow are installed:
every module here imports them at the top.
"""
