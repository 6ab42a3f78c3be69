#!/usr/bin/python3
"""Writes the seed corpora of the request fuzzers (tests/fuzz/corpus/activation_request and
training_request): valid and nearly valid requests of every rpc, serialized, each behind the
one-byte selector the fuzzer reads first. Re-run after changing the .proto:

  /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import actserve_testing  # noqa: E402


def write(folder, name, selector, message):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(bytes([selector]) + message.SerializeToString())


def main():
    with tempfile.TemporaryDirectory() as out:
        actserve_testing.generate_stubs(out)
        from proto.actserve.v1 import activation_service_pb2 as a
        from proto.actserve.v1 import training_service_pb2 as t
        act = os.path.join(HERE, "corpus", "activation_request")
        f32 = a.Tensor(shape=[2, 3], dtype=a.DTYPE_FLOAT32, float_data=[-2, -1, 0, 0.5, 1, 3])
        f64 = a.Tensor(shape=[4], dtype=a.DTYPE_FLOAT64, double_data=[-1e3, -0.5, 0.25, 40])
        write(act, "forward_gelu", 0, a.ForwardRequest(activation="gelu", x=f32))
        write(act, "forward_prelu_params", 0, a.ForwardRequest(
            activation="prelu", x=f32, params=[a.Parameter(name="a", values=[0.1, 0.2, 0.3])]))
        write(act, "forward_softmax_f64", 0, a.ForwardRequest(activation="softmax", x=f64))
        write(act, "forward_maxout", 0, a.ForwardRequest(
            activation="maxout", x=a.Tensor(shape=[2, 4], dtype=a.DTYPE_FLOAT32,
                                            float_data=[1] * 8),
            params=[a.Parameter(name="k", values=[2])]))
        write(act, "forward_rrelu_training", 0, a.ForwardRequest(
            activation="rrelu", x=f64, seed=7, training=True))
        write(act, "forward_bad_shape", 0, a.ForwardRequest(
            activation="relu", x=a.Tensor(shape=[3], dtype=a.DTYPE_FLOAT32, float_data=[1])))
        write(act, "backward_elu", 1, a.BackwardRequest(activation="elu", x=f32, dy=f32))
        write(act, "backward_glu", 1, a.BackwardRequest(
            activation="glu", x=a.Tensor(shape=[1, 4], dtype=a.DTYPE_FLOAT64,
                                         double_data=[1, 2, 3, 4]),
            dy=a.Tensor(shape=[1, 2], dtype=a.DTYPE_FLOAT64, double_data=[1, 1])))
        write(act, "evaluate_forward", 2, a.EvaluateRequest(
            id=3, forward=a.ForwardRequest(activation="swish", x=f64)))
        write(act, "evaluate_backward", 2, a.EvaluateRequest(
            id=4, backward=a.BackwardRequest(activation="tanh", x=f64, dy=f64)))

        tr = os.path.join(HERE, "corpus", "training_request")
        spec = t.JobSpec(
            name="xor", layers=[t.Layer(units=8, activation="tanh"),
                                t.Layer(units=2, activation="identity")],
            loss=t.LOSS_SOFTMAX_CROSS_ENTROPY, batch_size=16, epochs=2,
            data=t.Data(generated=t.GeneratedData(name="xor", rows=64)))
        write(tr, "submit_xor", 0, t.SubmitJobRequest(spec=spec, request_id="r-1"))
        inline = t.JobSpec(
            layers=[t.Layer(units=4, activation="prelu", params=[a.Parameter(name="a",
                                                                              values=[0.2])]),
                    t.Layer(units=1, activation="identity")],
            loss=t.LOSS_MEAN_SQUARED_ERROR, batch_size=2, epochs=1,
            optimizer=t.Optimizer(learning_rate=0.1),
            data=t.Data(inline=t.InlineData(
                features=a.Tensor(shape=[4, 1], dtype=a.DTYPE_FLOAT64, double_data=[0, 1, 2, 3]),
                targets=a.Tensor(shape=[4], dtype=a.DTYPE_FLOAT64, double_data=[0, 1, 4, 9]))))
        write(tr, "submit_inline", 0, t.SubmitJobRequest(spec=inline))
        frozen = t.JobSpec()
        frozen.CopyFrom(spec)
        frozen.layers[0].activation = "binary_step"
        write(tr, "submit_binary_step", 0, t.SubmitJobRequest(spec=frozen))
        frozen.layers[0].frozen = True
        write(tr, "submit_binary_step_frozen", 0, t.SubmitJobRequest(spec=frozen))
        write(tr, "sweep", 1, t.SubmitSweepRequest(
            spec=spec, activations=[t.SweepActivation(activation=n)
                                    for n in ("relu", "gelu", "elu")]))
        write(tr, "predict_network", 2, t.PredictRequest(
            network=t.Network(inputs=1, layers=inline.layers, loss=t.LOSS_MEAN_SQUARED_ERROR,
                              weights=[t.LayerWeights(
                                  weights=a.Tensor(shape=[4, 1], dtype=a.DTYPE_FLOAT64,
                                                   double_data=[1, 2, 3, 4]),
                                  bias=a.Tensor(shape=[4], dtype=a.DTYPE_FLOAT64,
                                                double_data=[0, 0, 0, 0])),
                                       t.LayerWeights(
                                  weights=a.Tensor(shape=[1, 4], dtype=a.DTYPE_FLOAT64,
                                                   double_data=[1, 1, 1, 1]),
                                  bias=a.Tensor(shape=[1], dtype=a.DTYPE_FLOAT64,
                                                double_data=[0]))]),
            features=a.Tensor(shape=[2, 1], dtype=a.DTYPE_FLOAT64, double_data=[0.5, -0.5])))


if __name__ == "__main__":
    main()
