"""Primitives that hold sub-jaxprs: calls are inlined, `cond` and `scan` unrolled into plain ops.

Inlining keeps the graph free of function calls, and for inference a custom derivative is
just its primal computation. `cond` evaluates every branch and selects the taken one (the
branches are pure, so only cost differs); `scan` with its static length becomes a loop
unrolled at conversion time, which TF.js runs without control-flow ops. Only `while`, whose
trip count is data-dependent, becomes a while loop in v1 frames (TF.js runs it with executeAsync);
the graph model's loop unrolling still removes one whose trip count its constants fix.
"""

from tensorflowjs.jax_lowering import ops
from tensorflowjs.jax_lowering.registry import Unsupported, lowering


# "pjit" is the name of "jit" before JAX 0.7; "remat2" is jax.checkpoint.
@lowering("jit", "pjit", "closed_call", "custom_jvp_call", "custom_vjp_call", "remat2", "composite")
def _call(ctx, eqn, *args):
    params = eqn.params
    sub = params.get("jaxpr", params.get("call_jaxpr"))
    name = f"{eqn.primitive.name}({params['name']})" if "name" in params else eqn.primitive.name
    if hasattr(sub, "consts"):
        return ctx.call(sub, args, name)
    return ctx.call_open(sub, (), args, name)


@lowering("cond")
def _cond(ctx, eqn, index, *args):
    branches = [ctx.call(branch, args, f"cond branch {i}") for i, branch in enumerate(eqn.params["branches"])]
    index = ops.cast(index, ops.int32)
    results = list(branches[0])
    for i, outs in enumerate(branches[1:], start=1):
        taken = ops.equal(index, i)
        results = [ops.where(taken, out, result) for out, result in zip(outs, results)]
    return results


@lowering("scan")
def _scan(ctx, eqn, *args):
    params = eqn.params
    length, num_consts, num_carry = params["length"], params["num_consts"], params["num_carry"]
    if not isinstance(length, int) or length == 0:
        raise Unsupported("a scan over a symbolic or zero length")
    consts, carry, xs = args[:num_consts], list(args[num_consts:num_consts + num_carry]), args[num_consts + num_carry:]
    steps = range(length - 1, -1, -1) if params["reverse"] else range(length)
    ys = []
    for step in steps:
        outs = ctx.call(params["jaxpr"], [*consts, *carry, *(x[step] for x in xs)], f"scan step {step}")
        carry, y = outs[:num_carry], outs[num_carry:]
        ys.append(y)
    if params["reverse"]:
        ys.reverse()
    num_ys = len(eqn.outvars) - num_carry
    return carry + [ops.stack([y[i] for y in ys]) for i in range(num_ys)]


@lowering("while")
def _while(ctx, eqn, *args):
    params = eqn.params
    split = params["cond_nconsts"], params["cond_nconsts"] + params["body_nconsts"]
    cond_consts, body_consts, carry = args[:split[0]], args[split[0]:split[1]], args[split[1]:]

    def cond(*values):
        return ctx.call(params["cond_jaxpr"], [*cond_consts, *values], "while cond")[0]

    def body(*values):
        return ctx.call(params["body_jaxpr"], [*body_consts, *values], "while body")

    return ops.while_loop(cond, body, list(carry))
