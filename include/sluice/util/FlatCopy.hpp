// A compact owned copy of one flatbuffers table from a request, kept for dumps.
//
// Requests (PRODUCE, CONSUME, ...) carry parameters the worker must echo back
// later in DUMP responses. Holding the request buffer would pin the whole
// frame, and the object API's tree of vectors and strings costs several times
// the wire size per entity. FlatCopy re-serializes just the table into one
// exactly-sized byte vector (a few hundred bytes for typical RTP parameters)
// and copies it into a response builder on demand. Control path only: it
// allocates.
#pragma once

#include <cstdint>
#include <vector>

#include <flatbuffers/flatbuffers.h>

namespace sluice::util {

template <typename Table> class FlatCopy {
public:
  FlatCopy() = default;

  // `table` must be verified (it comes from a verified request).
  static FlatCopy From(const Table* table) {
    return From(table, [](typename Table::NativeTableType&) {});
  }
  // The same, with `fix(object)` completing the unpacked table first (fields
  // the worker fills in, such as defaults the controller left out).
  template <typename Fix> static FlatCopy From(const Table* table, Fix&& fix) {
    FlatCopy copy;
    if (table == nullptr)
      return copy;
    flatbuffers::FlatBufferBuilder builder(512);
    const auto object = std::unique_ptr<typename Table::NativeTableType>(table->UnPack());
    fix(*object);
    builder.Finish(Table::Pack(builder, object.get()));
    copy.bytes_.assign(builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize());
    copy.bytes_.shrink_to_fit();
    return copy;
  }

  bool Empty() const { return bytes_.empty(); }
  const Table* Get() const {
    return bytes_.empty() ? nullptr : flatbuffers::GetRoot<Table>(bytes_.data());
  }
  // Deep copy into `builder` (for a response); 0 when empty.
  flatbuffers::Offset<Table> CopyInto(flatbuffers::FlatBufferBuilder& builder) const {
    const Table* table = Get();
    if (table == nullptr)
      return 0;
    const auto object = std::unique_ptr<typename Table::NativeTableType>(table->UnPack());
    return Table::Pack(builder, object.get());
  }
  size_t Bytes() const { return bytes_.capacity(); }

private:
  std::vector<uint8_t> bytes_;
};

} // namespace sluice::util
