"""TF1 SavedModels, built in a graph and session with SavedModelBuilder as TF1 code wrote them."""

import numpy as np
import tensorflow as tf


def table_saved_model(path: str, tags, signature_name: str, w: np.ndarray, cast_input: bool = False) -> None:
    """A TF1 SavedModel with a variable and a string -> int64 hash table filled by its main op:
    `scores` = relu(x @ w), `ids` = the table's value of each of `words` (cat 4, dog 9, else -1).
    `cast_input`: the signature's input is a Cast of the placeholder, as TF1 signatures may say."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        x = tf.compat.v1.placeholder(tf.int32 if cast_input else tf.float32, [None, 4], name="x")
        fed = tf.cast(x, tf.float32, name="x_float") if cast_input else x
        words = tf.compat.v1.placeholder(tf.string, [None], name="words")
        weights = tf.compat.v1.get_variable("w", initializer=w)
        table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(["cat", "dog"], tf.constant([4, 9], tf.int64)), -1)
        scores = tf.nn.relu(tf.matmul(fed, weights), name="scores")
        ids = tf.identity(table.lookup(words), name="ids")
        session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
        builder = tf.compat.v1.saved_model.Builder(path)
        signature = tf.compat.v1.saved_model.predict_signature_def({"x": fed, "words": words}, {"scores": scores, "ids": ids})
        builder.add_meta_graph_and_variables(session, tags, signature_def_map={signature_name: signature}, main_op=tf.compat.v1.tables_initializer())
        builder.save()
