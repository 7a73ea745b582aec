"""Lowers JAX functions to a GraphDef of ops TF.js can execute, one primitive at a time.

Imported only by `convert_jax`, after it has checked that JAX is installed: modules here import
it at the top. TensorFlow is not needed (graph_builder writes the NodeDefs).
"""
