"""Keras models as TF.js sees them: config dialect, weight names and the files that hold them.

Nothing here imports Keras or TensorFlow: HDF5 and .keras files are read with h5py, zipfile
and JSON, so Keras -> TF.js layers conversion runs without either installed.
"""
