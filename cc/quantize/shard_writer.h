// Streams a weight group into `group{g}-shard{i}of{n}.bin` files of at most shard_size bytes.
//
// The total size is known up front (the manifest is planned before writing), so shard names
// are final from the start and nothing is buffered beyond one encoding chunk: writing a
// model costs O(chunk) extra memory, not O(model).
#ifndef TFJS_CC_QUANTIZE_SHARD_WRITER_H_
#define TFJS_CC_QUANTIZE_SHARD_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "cc/quantize/quantize.h"

namespace tfjs {

// A file could not be created or written; carries the path and the OS reason.
class ShardIoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ShardWriter {
 public:
  // Throws std::invalid_argument for shard_size == 0 or group < 1.
  ShardWriter(std::string directory, int group, uint64_t total_bytes, uint64_t shard_size);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  static std::string ShardName(int group, uint64_t index, uint64_t count);

  // Each throws std::length_error if it would pass total_bytes.
  void Write(const uint8_t* data, size_t size);
  void WriteFloat16(const float* data, size_t count);
  void WriteAffine(const float* data, size_t count, int bits, const AffineParams& params);

  // Flushes and closes; throws std::length_error unless exactly total_bytes were written.
  // Returns the shard file names in order (none for an empty group).
  std::vector<std::string> Close();

  uint64_t shard_count() const { return shard_count_; }

 private:
  // Elements encoded per step: bounds the scratch buffer whatever the tensor size.
  static constexpr size_t kChunkElements = 64 * 1024;

  // Encodes chunk by chunk with encode(in, n, out) and writes each chunk.
  template <typename Q, typename Encode>
  void WriteEncoded(const float* data, size_t count, Encode encode) {
    std::vector<Q> chunk(count < kChunkElements ? count : kChunkElements);
    for (size_t start = 0; start < count; start += chunk.size()) {
      const size_t n = count - start < chunk.size() ? count - start : chunk.size();
      encode(data + start, n, chunk.data());
      Write(reinterpret_cast<const uint8_t*>(chunk.data()), n * sizeof(Q));
    }
  }

  void OpenNext();
  void CloseCurrent();

  std::string directory_;
  int group_;
  uint64_t total_bytes_;
  uint64_t shard_size_;
  uint64_t shard_count_;
  uint64_t written_ = 0;
  uint64_t shard_index_ = 0;  // 1-based index of the open shard; 0 before the first.
  uint64_t shard_left_ = 0;   // Bytes the open shard still takes.
  std::FILE* file_ = nullptr;
  std::vector<std::string> names_;
};

}  // namespace tfjs

#endif  // TFJS_CC_QUANTIZE_SHARD_WRITER_H_
