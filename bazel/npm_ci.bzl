"""An npm dependency tree installed with `npm ci` from a committed package-lock.json.

Used for the TF.js end-to-end harness: @tensorflow/tfjs pinned by the lock, with every
package's integrity hash checked by npm. Install scripts are disabled.
"""

def _npm_ci_impl(rctx):
    npm = rctx.which("npm")
    if not npm:
        fail("npm_ci: npm is not on PATH (Debian: apt-get install nodejs npm)")
    rctx.symlink(rctx.attr.package_json, "package.json")
    rctx.symlink(rctx.attr.package_lock, "package-lock.json")
    rctx.report_progress("npm ci (%s)" % rctx.attr.package_lock)
    result = rctx.execute(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        timeout = 1800,
    )
    if result.return_code != 0:
        fail("npm_ci: `npm ci` failed (exit %d):\n%s\n%s" % (result.return_code, result.stdout[-4000:], result.stderr[-4000:]))
    digest = rctx.execute(["sha256sum", str(rctx.path(rctx.attr.package_lock))]).stdout.split(" ")[0]

    # node_modules is handed to tests as one directory: its file names include characters
    # Bazel 4's runfiles cannot carry. The digest file makes a changed lock invalidate tests.
    rctx.file("lock_digest.txt", digest + "\n")
    rctx.file("BUILD", """
filegroup(
    name = "node_modules_tree",
    srcs = ["node_modules", "lock_digest.txt"],
    visibility = ["//visibility:public"],
)
""")

npm_ci = repository_rule(
    implementation = _npm_ci_impl,
    attrs = {
        "package_json": attr.label(mandatory = True, allow_single_file = True),
        "package_lock": attr.label(mandatory = True, allow_single_file = True),
    },
    environ = ["PATH", "npm_config_registry"],
)
