"""py_wheel: a pip-installable wheel of a py_library, compiled extensions included.

Bazel 4 has no built-in wheel rule and rules_python cannot be fetched offline, so this is
a small rule of our own: it hands the library's files to bazel/build_wheel.py.
"""

def _py_wheel_impl(ctx):
    out = ctx.actions.declare_file("%s-%s-%s-%s-%s.whl" % (
        ctx.attr.distribution,
        ctx.attr.version,
        ctx.attr.python_tag,
        ctx.attr.python_tag,
        ctx.attr.platform_tag,
    ))
    prefix = ctx.attr.strip_prefix + "/"
    files = [
        f
        for f in ctx.attr.library[DefaultInfo].default_runfiles.files.to_list()
        if f.short_path.startswith(prefix)
    ]
    args = ctx.actions.args()
    args.add("--output", out)
    args.add("--distribution", ctx.attr.distribution)
    args.add("--version", ctx.attr.version)
    args.add("--tag", "%s-%s-%s" % (ctx.attr.python_tag, ctx.attr.python_tag, ctx.attr.platform_tag))
    args.add("--summary", ctx.attr.summary)
    args.add_all(ctx.attr.requires, before_each = "--requires")
    args.add_all(["%s=%s" % (k, v) for k, v in ctx.attr.extras.items()], before_each = "--extra")
    args.add_all(["%s=%s" % (k, v) for k, v in ctx.attr.console_scripts.items()], before_each = "--console_script")
    args.add_all(["%s=%s" % (f.short_path[len(prefix):], f.path) for f in files], before_each = "--file")
    ctx.actions.run(
        executable = ctx.executable._builder,
        arguments = [args],
        inputs = files,
        outputs = [out],
        mnemonic = "PyWheel",
        progress_message = "Building wheel %s" % out.short_path,
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

py_wheel = rule(
    implementation = _py_wheel_impl,
    attrs = {
        "library": attr.label(mandatory = True),
        "strip_prefix": attr.string(mandatory = True),
        "distribution": attr.string(mandatory = True),
        "version": attr.string(mandatory = True),
        "summary": attr.string(default = ""),
        "python_tag": attr.string(mandatory = True),
        "platform_tag": attr.string(mandatory = True),
        "requires": attr.string_list(),
        "extras": attr.string_dict(doc = "extra name -> comma-separated requirements"),
        "console_scripts": attr.string_dict(),
        "_builder": attr.label(default = "//bazel:build_wheel", executable = True, cfg = "host"),
    },
)
