// pybind11 binding of the quantization core as the module tensorflowjs._quantize.
// Only argument conversion lives here; heavy work runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>

#include "cc/quantize/quantize.h"
#include "cc/quantize/shard_writer.h"

namespace py = pybind11;

namespace {

// C-contiguous and aligned: numpy copies a strided or misaligned array (e.g. np.frombuffer at an
// odd offset) before the kernels see it, as loading a misaligned float is undefined behaviour.
constexpr int kKernelInput = py::array::c_style | py::array::forcecast | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
using FloatArray = py::array_t<float, kKernelInput>;
template <typename T>
using Array = py::array_t<T, kKernelInput>;

int CheckBits(int bits) {
  if (bits != 8 && bits != 16) throw py::value_error("affine quantization takes 8 or 16 bits, got " + std::to_string(bits));
  return bits;
}

template <typename Out, typename In, typename Fn>
py::array_t<Out> Map(const Array<In>& in, Fn fn) {
  py::array_t<Out> out(std::vector<py::ssize_t>(in.shape(), in.shape() + in.ndim()));
  const In* src = in.data();
  Out* dst = out.mutable_data();
  const size_t count = static_cast<size_t>(in.size());
  {
    py::gil_scoped_release release;
    fn(src, count, dst);
  }
  return out;
}

py::tuple AffineParamsOf(const FloatArray& data, int bits) {
  CheckBits(bits);
  tfjs::AffineParams params{};
  bool finite;
  {
    py::gil_scoped_release release;
    finite = tfjs::ComputeAffineParams(data.data(), static_cast<size_t>(data.size()), bits, &params);
  }
  if (!finite) throw py::value_error("tensor contains NaN or Inf, which affine quantization cannot represent");
  return py::make_tuple(params.min, params.scale);
}

py::array AffineEncode(const FloatArray& data, int bits, double min, double scale) {
  const tfjs::AffineParams params{min, scale};
  if (CheckBits(bits) == 8) {
    return Map<uint8_t, float>(data, [&](const float* in, size_t n, uint8_t* out) { tfjs::AffineEncode8(in, n, params, out); });
  }
  return Map<uint16_t, float>(data, [&](const float* in, size_t n, uint16_t* out) { tfjs::AffineEncode16(in, n, params, out); });
}

py::array AffineDecode(const py::array& quantized, double min, double scale) {
  const tfjs::AffineParams params{min, scale};
  if (py::isinstance<py::array_t<uint8_t>>(quantized)) {
    return Map<float, uint8_t>(Array<uint8_t>::ensure(quantized),
                               [&](const uint8_t* in, size_t n, float* out) { tfjs::AffineDecode8(in, n, params, out); });
  }
  if (py::isinstance<py::array_t<uint16_t>>(quantized)) {
    return Map<float, uint16_t>(Array<uint16_t>::ensure(quantized),
                                [&](const uint16_t* in, size_t n, float* out) { tfjs::AffineDecode16(in, n, params, out); });
  }
  throw py::type_error("affine_decode takes a uint8 or uint16 array");
}

// Bytes of any C-contiguous buffer (bytes, bytearray, numpy array).
void WriteBuffer(tfjs::ShardWriter& writer, const py::buffer& data) {
  Py_buffer view;
  if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
  try {
    py::gil_scoped_release release;
    writer.Write(static_cast<const uint8_t*>(view.buf), static_cast<size_t>(view.len));
  } catch (...) {
    PyBuffer_Release(&view);
    throw;
  }
  PyBuffer_Release(&view);
}

}  // namespace

PYBIND11_MODULE(_quantize, m) {
  m.doc() = "Native float16/affine quantization and streaming shard writing for TF.js weights.";
  py::register_exception<tfjs::ShardIoError>(m, "ShardIoError", PyExc_OSError);

  m.def("float16_encode", [](const FloatArray& a) { return Map<uint16_t, float>(a, tfjs::EncodeFloat16); },
        "float32 array -> uint16 array of IEEE half bits (round to nearest even).");
  m.def("float16_decode", [](const Array<uint16_t>& a) { return Map<float, uint16_t>(a, tfjs::DecodeFloat16); },
        "uint16 array of IEEE half bits -> float32 array.");
  m.def("affine_params", &AffineParamsOf, py::arg("data"), py::arg("bits"),
        "(min, scale) of the public converter's affine quantization; ValueError on NaN/Inf.");
  m.def("affine_encode", &AffineEncode, py::arg("data"), py::arg("bits"), py::arg("min"), py::arg("scale"));
  m.def("affine_decode", &AffineDecode, py::arg("quantized"), py::arg("min"), py::arg("scale"));

  py::class_<tfjs::ShardWriter>(m, "ShardWriter")
      .def(py::init<std::string, int, uint64_t, uint64_t>(), py::arg("directory"), py::arg("group"),
           py::arg("total_bytes"), py::arg("shard_size"))
      .def("write", &WriteBuffer, py::arg("data"))
      .def(
          "write_float16",
          [](tfjs::ShardWriter& w, const FloatArray& a) {
            py::gil_scoped_release release;
            w.WriteFloat16(a.data(), static_cast<size_t>(a.size()));
          },
          py::arg("data"))
      .def(
          "write_affine",
          [](tfjs::ShardWriter& w, const FloatArray& a, int bits, double min, double scale) {
            CheckBits(bits);
            py::gil_scoped_release release;
            w.WriteAffine(a.data(), static_cast<size_t>(a.size()), bits, tfjs::AffineParams{min, scale});
          },
          py::arg("data"), py::arg("bits"), py::arg("min"), py::arg("scale"))
      .def("close", &tfjs::ShardWriter::Close)
      .def_property_readonly("shard_count", &tfjs::ShardWriter::shard_count);
}
