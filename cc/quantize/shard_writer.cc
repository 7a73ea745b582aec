#include "cc/quantize/shard_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace tfjs {

ShardWriter::ShardWriter(std::string directory, int group, uint64_t total_bytes, uint64_t shard_size)
    : directory_(std::move(directory)), group_(group), total_bytes_(total_bytes), shard_size_(shard_size) {
  if (shard_size == 0) throw std::invalid_argument("shard size must be a positive number of bytes");
  if (group < 1) throw std::invalid_argument("group numbers start at 1");
  // Not (total + size - 1) / size: that wraps around for shard sizes near 2^64.
  shard_count_ = total_bytes / shard_size + (total_bytes % shard_size != 0 ? 1 : 0);
}

ShardWriter::~ShardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

std::string ShardWriter::ShardName(int group, uint64_t index, uint64_t count) {
  return "group" + std::to_string(group) + "-shard" + std::to_string(index) + "of" + std::to_string(count) + ".bin";
}

void ShardWriter::OpenNext() {
  ++shard_index_;
  const std::string name = ShardName(group_, shard_index_, shard_count_);
  const std::string path = directory_.empty() ? name : directory_ + "/" + name;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) throw ShardIoError("cannot create " + path + ": " + std::strerror(errno));
  names_.push_back(name);
  shard_left_ = std::min(shard_size_, total_bytes_ - written_);
}

void ShardWriter::CloseCurrent() {
  if (file_ == nullptr) return;
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fclose(file) != 0) {
    throw ShardIoError("cannot write " + directory_ + "/" + names_.back() + ": " + std::strerror(errno));
  }
}

void ShardWriter::Write(const uint8_t* data, size_t size) {
  if (size > total_bytes_ - written_) {
    throw std::length_error("weights exceed the planned group size of " + std::to_string(total_bytes_) + " bytes");
  }
  while (size > 0) {
    if (shard_left_ == 0) {
      CloseCurrent();
      OpenNext();
    }
    const size_t step = static_cast<size_t>(std::min<uint64_t>(size, shard_left_));
    if (std::fwrite(data, 1, step, file_) != step) {
      throw ShardIoError("cannot write " + directory_ + "/" + names_.back() + ": " + std::strerror(errno));
    }
    data += step;
    size -= step;
    shard_left_ -= step;
    written_ += step;
  }
}

void ShardWriter::WriteFloat16(const float* data, size_t count) {
  WriteEncoded<uint16_t>(data, count, EncodeFloat16);
}

void ShardWriter::WriteAffine(const float* data, size_t count, int bits, const AffineParams& params) {
  if (bits == 8) {
    WriteEncoded<uint8_t>(data, count, [&](const float* in, size_t n, uint8_t* out) { AffineEncode8(in, n, params, out); });
  } else if (bits == 16) {
    WriteEncoded<uint16_t>(data, count,
                           [&](const float* in, size_t n, uint16_t* out) { AffineEncode16(in, n, params, out); });
  } else {
    throw std::invalid_argument("affine quantization takes 8 or 16 bits, got " + std::to_string(bits));
  }
}

std::vector<std::string> ShardWriter::Close() {
  CloseCurrent();
  if (written_ != total_bytes_) {
    throw std::length_error("wrote " + std::to_string(written_) + " of the planned " + std::to_string(total_bytes_) +
                            " bytes");
  }
  return names_;
}

}  // namespace tfjs
