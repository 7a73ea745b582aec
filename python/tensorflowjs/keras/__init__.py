"""Keras models as TF.js sees them: config dialect, weight names and the files that hold them.

Reading Keras files imports neither Keras nor TensorFlow: HDF5 and .keras files are read with
h5py, zipfile and JSON, so Keras -> TF.js layers conversion runs without either installed.
Only `model_builder`, which builds Keras models of TF.js layers models, imports Keras (when called).
"""
