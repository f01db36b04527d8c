// parse_pth: a torch.save zip into TensorViews. The zip reader finds the entries, the pickle reader
// says which tensor lives where; this file checks that the two agree (storage present, large
// enough, tensor contiguous) and points each view into the mapped storage.
#include "gander/gander.h"
#include "io/bytes.h"
#include "io/formats.h"
#include "io/pickle_reader.h"
#include "io/zip_reader.h"

#include <string>
#include <string_view>

namespace gander::io {

namespace {

std::string join(const std::vector<std::int64_t>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
}

// The one "<folder>/data.pkl" entry. The folder is named after the file by torch.save and is
// different in every release ("archive/", "rand-a/", ...), so it is found, never assumed.
const ZipEntry& find_pickle(const ZipReader& zip) {
    const ZipEntry* found = nullptr;
    for (const auto& e : zip.entries()) {
        std::string_view name = e.name;
        if (!name.ends_with("/data.pkl")) continue;
        if (name.find('/') != name.size() - 9) continue; // nested deeper: not torch's pickle
        if (found)
            throw Error(zip.label() + ": several pickles in the archive ('" +
                        printable(found->name) + "', '" + printable(e.name) + "')");
        found = &e;
    }
    if (!found)
        throw Error(zip.label() +
                    ": no <folder>/data.pkl entry in the zip: not a file written by torch.save");
    return *found;
}

void check_byteorder(const ZipReader& zip, const std::string& folder) {
    const ZipEntry* e = zip.find(folder + "byteorder");
    if (!e) return; // torch before 2.1 wrote no byteorder entry; those files are little-endian
    auto bytes = zip.payload(*e);
    std::string_view order(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (order == "little") return;
    if (order == "big")
        throw Error(zip.label() + ": tensors are stored big-endian; only little-endian files are "
                                  "supported");
    throw Error(zip.label() + ": unknown byteorder '" + printable(order, 40) + "'");
}

TensorView make_view(const PickledTensor& t, std::span<const std::byte> storage,
                     const std::string& label) {
    const std::string where = label + ": tensor " + printable(t.name);
    const std::string storage_name = "'data/" + printable(t.storage_key) + "'";
    const std::uint64_t elem = dtype_size(t.dtype);

    std::uint64_t declared = 0;
    if (!mul_ok(static_cast<std::uint64_t>(t.storage_numel), elem, declared) ||
        declared > storage.size())
        throw Error(where + ": storage " + storage_name + " declares " +
                    std::to_string(t.storage_numel) + " elements of " +
                    std::string(dtype_name(t.dtype)) + " but its entry holds " +
                    std::to_string(storage.size()) + " bytes");

    // Contiguous row-major: each stride is the product of the sizes after it. Dimensions of size 1
    // may carry any stride (torch writes e.g. [128,128,1] for a [1,1,128] tensor).
    std::uint64_t numel = 1;
    bool overflow = false;
    for (std::int64_t s : t.size)
        overflow |= !mul_ok(numel, static_cast<std::uint64_t>(s), numel, kMaxNumel);
    if (overflow) throw Error(where + ": size " + join(t.size) + " overflows");
    if (numel != 0) {
        std::uint64_t expected = 1;
        for (std::size_t i = t.size.size(); i-- > 0;) {
            if (t.size[i] != 1 && static_cast<std::uint64_t>(t.stride[i]) != expected)
                throw Error(where + ": non-contiguous strides " + join(t.stride) + " for size " +
                            join(t.size) + "; only contiguous tensors are supported");
            expected *= static_cast<std::uint64_t>(t.size[i]);
        }
    }

    std::uint64_t offset_bytes = 0, nbytes = 0;
    bool fits = mul_ok(static_cast<std::uint64_t>(t.storage_offset), elem, offset_bytes) &&
                mul_ok(numel, elem, nbytes) && offset_bytes <= ~std::uint64_t{0} - nbytes;
    if (!fits || offset_bytes + nbytes > declared) {
        std::string need = fits ? std::to_string(offset_bytes + nbytes) : "more than 2^64";
        std::string at = t.storage_offset
                             ? " (from storage offset " + std::to_string(t.storage_offset) + ")"
                             : "";
        throw Error(where + ": storage " + storage_name + " holds " + std::to_string(declared) +
                    " bytes, tensor needs " + need + at);
    }

    TensorView v;
    v.name = t.name;
    v.dtype = t.dtype;
    v.shape = t.size;
    v.data = storage.data() + offset_bytes;
    v.nbytes = static_cast<std::size_t>(nbytes);
    return v;
}

} // namespace

ParsedTensors parse_pth(std::span<const std::byte> file, const std::string& label) {
    ZipReader zip(file, label);
    const ZipEntry& pickle = find_pickle(zip);
    const std::string folder = pickle.name.substr(0, pickle.name.size() - 8); // keeps the '/'
    check_byteorder(zip, folder);

    std::vector<PickledTensor> pickled =
        read_torch_pickle(zip.payload(pickle), label + ": " + printable(pickle.name));

    ParsedTensors out;
    out.tensors.reserve(pickled.size());
    for (const auto& t : pickled) {
        const ZipEntry* entry = zip.find(folder + "data/" + t.storage_key);
        if (!entry)
            throw Error(label + ": tensor " + printable(t.name) + ": storage 'data/" +
                        printable(t.storage_key) + "' is missing from the archive");
        out.tensors.push_back(make_view(t, zip.payload(*entry), label));
    }
    return out;
}

} // namespace gander::io
