// The pickle VM behind read_torch_pickle. It follows CPython's Unpickler (Lib/pickle.py) opcode by
// opcode for the subset torch.save uses, with MARK handled the same way: a mark opens a new stack
// section, and an opcode can never pop below the innermost mark.
#include "io/pickle_reader.h"

#include "gander/gander.h"
#include "io/bytes.h"

#include <array>
#include <cstring>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace gander::io {

namespace {

// Far above what any real state dict needs (a 7B model's pickle makes ~20k objects), and low
// enough that a hostile pickle cannot make the reader hold more than a few hundred MB.
constexpr std::size_t kMaxObjects = std::size_t{1} << 20;
constexpr std::size_t kMaxStack = std::size_t{1} << 20;
// Items held by all tuples, lists and dicts together: a pickle can re-push one object many times
// (BINGET, DUP) and append it to a list, so this is bounded separately from the object count.
constexpr std::size_t kMaxContained = std::size_t{1} << 24;
constexpr std::size_t kMaxDims = 32;
// A 7B model's pickle is ~80 KB; strings are copied out of it, so its size bounds their memory.
constexpr std::size_t kMaxPickle = std::size_t{64} << 20;

enum class Kind : std::uint8_t {
    None,
    Bool,
    Int,
    Float,
    String,
    Bytes,
    Tuple,
    List,
    Dict,
    Global,
    Storage,
    Tensor
};

std::string_view kind_name(Kind kind) {
    switch (kind) {
    case Kind::None:
        return "None";
    case Kind::Bool:
        return "bool";
    case Kind::Int:
        return "int";
    case Kind::Float:
        return "float";
    case Kind::String:
        return "str";
    case Kind::Bytes:
        return "bytes";
    case Kind::Tuple:
        return "tuple";
    case Kind::List:
        return "list";
    case Kind::Dict:
        return "dict";
    case Kind::Global:
        return "global";
    case Kind::Storage:
        return "storage";
    case Kind::Tensor:
        return "tensor";
    }
    return "?";
}

struct Obj {
    Kind kind = Kind::None;
    std::int64_t num = 0;    // Int, Bool; Storage: numel; Tensor: storage offset
    double real = 0;         // Float
    std::string text;        // String, Bytes; Global: module; Storage: type name
    std::string text2;       // Global: name; Storage: key
    std::vector<Obj*> items; // Tuple, List; Dict: key, value, key, value...; Tensor: {storage}
    std::vector<std::int64_t> size, stride; // Tensor
    DType dtype = DType::F32;               // Storage
    bool dtype_known = false;               // Storage
};

enum Op : std::uint8_t {
    MARK = '(',
    STOP = '.',
    POP = '0',
    POP_MARK = '1',
    DUP = '2',
    BINFLOAT = 'G',
    BININT = 'J',
    BININT1 = 'K',
    BININT2 = 'M',
    NONE = 'N',
    BINPERSID = 'Q',
    REDUCE = 'R',
    BINUNICODE = 'X',
    BINBYTES = 'B',
    SHORT_BINBYTES = 'C',
    EMPTY_LIST = ']',
    APPEND = 'a',
    BUILD = 'b',
    GLOBAL = 'c',
    DICT = 'd',
    APPENDS = 'e',
    BINGET = 'h',
    LONG_BINGET = 'j',
    LIST = 'l',
    BINPUT = 'q',
    LONG_BINPUT = 'r',
    SETITEM = 's',
    TUPLE = 't',
    SETITEMS = 'u',
    EMPTY_DICT = '}',
    EMPTY_TUPLE = ')',
    PROTO = 0x80,
    TUPLE1 = 0x85,
    TUPLE2 = 0x86,
    TUPLE3 = 0x87,
    NEWTRUE = 0x88,
    NEWFALSE = 0x89,
    LONG1 = 0x8a,
    LONG4 = 0x8b,
    SHORT_BINUNICODE = 0x8c,
    BINUNICODE8 = 0x8d,
    BINBYTES8 = 0x8e,
    STACK_GLOBAL = 0x93,
    MEMOIZE = 0x94,
    FRAME = 0x95,
};

bool allowed_global(std::string_view module, std::string_view name) {
    if (module == "collections") return name == "OrderedDict";
    if (module == "torch._utils")
        return name == "_rebuild_tensor_v2" || name == "_rebuild_tensor" ||
               name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state";
    if (module == "torch") return name.ends_with("Storage");
    return false;
}

class Machine {
public:
    Machine(std::span<const std::byte> data, const std::string& label)
        : m_data(data), m_label(label) {}

    Obj* run();

    [[noreturn]] void fail(const std::string& what) const { throw Error(m_label + ": " + what); }
    [[noreturn]] void fail_at(const std::string& what) const {
        fail(what + " (opcode at offset " + std::to_string(m_op_pos) + ")");
    }

private:
    Obj* make(Kind kind) {
        if (m_arena.size() >= kMaxObjects)
            fail_at("pickle builds more than " + std::to_string(kMaxObjects) + " objects");
        m_arena.emplace_back();
        m_arena.back().kind = kind;
        return &m_arena.back();
    }

    std::size_t base() const { return m_marks.empty() ? 0 : m_marks.back(); }
    void push(Obj* o) {
        if (m_stack.size() >= kMaxStack) fail_at("pickle stack grows past its limit");
        m_stack.push_back(o);
    }
    Obj* top() const {
        if (m_stack.size() <= base()) fail_at("stack underflow");
        return m_stack.back();
    }
    Obj* pop() {
        Obj* o = top();
        m_stack.pop_back();
        return o;
    }
    // The items pushed since the innermost MARK, which is closed.
    std::vector<Obj*> pop_mark() {
        if (m_marks.empty()) fail_at("no MARK to close");
        std::size_t b = m_marks.back();
        m_marks.pop_back();
        std::vector<Obj*> items(m_stack.begin() + static_cast<std::ptrdiff_t>(b), m_stack.end());
        m_stack.resize(b);
        return items;
    }

    const std::byte* need(std::size_t n) {
        if (n > m_data.size() - m_pos) fail_at("pickle is truncated");
        const std::byte* p = m_data.data() + m_pos;
        m_pos += n;
        return p;
    }
    std::uint64_t read_uint(std::size_t width) {
        const std::byte* p = need(width);
        switch (width) {
        case 1:
            return std::to_integer<std::uint8_t>(p[0]);
        case 2:
            return load_u16le(p);
        case 4:
            return load_u32le(p);
        default:
            return load_u64le(p);
        }
    }
    std::string_view read_bytes(std::uint64_t n) {
        if (n > m_data.size() - m_pos)
            fail_at("pickle is truncated (string of " + std::to_string(n) + " bytes)");
        const std::byte* p = need(static_cast<std::size_t>(n));
        return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
    }
    std::string_view read_line() {
        const char* start = reinterpret_cast<const char*>(m_data.data() + m_pos);
        std::size_t left = m_data.size() - m_pos;
        const void* nl = std::memchr(start, '\n', left);
        if (!nl) fail_at("pickle is truncated (unterminated GLOBAL)");
        std::size_t n = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
        m_pos += n + 1;
        return {start, n};
    }

    void push_string(Kind kind, std::string_view s) {
        Obj* o = make(kind);
        o->text.assign(s);
        push(o);
    }
    void push_int(std::int64_t v) {
        Obj* o = make(Kind::Int);
        o->num = v;
        push(o);
    }
    void push_global(std::string_view module, std::string_view name) {
        if (!allowed_global(module, name))
            fail_at("unsupported global '" + printable(module) + "." + printable(name) +
                    "' (only state dicts of tensors can be read)");
        Obj* o = make(Kind::Global);
        o->text.assign(module);
        o->text2.assign(name);
        push(o);
    }
    void contain(std::size_t n) {
        m_contained += n;
        if (m_contained > kMaxContained)
            fail_at("pickle containers hold more than " + std::to_string(kMaxContained) + " items");
    }
    void push_tuple(std::vector<Obj*> items) {
        contain(items.size());
        Obj* o = make(Kind::Tuple);
        o->items = std::move(items);
        push(o);
    }
    void read_long(std::uint64_t n);
    void persistent_load();
    void reduce();
    Obj* rebuild_tensor(const std::vector<Obj*>& args, std::size_t min_args);
    std::vector<std::int64_t> int_tuple(const Obj* o, const char* what);

    std::span<const std::byte> m_data;
    const std::string& m_label;
    std::size_t m_pos = 0;
    std::size_t m_op_pos = 0;
    std::deque<Obj> m_arena; // deque: pointers stay valid as it grows
    std::vector<Obj*> m_stack;
    std::vector<std::size_t> m_marks;
    std::unordered_map<std::uint64_t, Obj*> m_memo;
    std::size_t m_contained = 0;
};

void Machine::read_long(std::uint64_t n) {
    if (n > 8) fail_at("integer of " + std::to_string(n) + " bytes is too large");
    std::string_view b = read_bytes(n);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
        v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
    // Two's complement of n bytes: sign-extend from the top byte.
    if (n > 0 && n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80))
        v |= ~std::uint64_t{0} << (8 * n);
    push_int(static_cast<std::int64_t>(v));
}

void Machine::persistent_load() {
    Obj* pid = pop();
    if (pid->kind != Kind::Tuple || pid->items.size() != 5)
        fail_at("persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    Obj* tag = pid->items[0];
    Obj* type = pid->items[1];
    Obj* key = pid->items[2];
    Obj* numel = pid->items[4];
    if (tag->kind != Kind::String || tag->text != "storage")
        fail_at("persistent id does not name a storage");
    if (type->kind != Kind::Global || type->text != "torch")
        fail_at("persistent id's storage type is not a torch storage class");
    if (key->kind != Kind::String) fail_at("persistent id's storage key is not a string");
    if (numel->kind != Kind::Int || numel->num < 0)
        fail_at("persistent id's element count is not a non-negative integer");
    Obj* s = make(Kind::Storage);
    s->text = type->text2;
    s->text2 = key->text;
    s->num = numel->num;
    s->dtype_known = dtype_from_storage_type(s->text, s->dtype);
    push(s);
}

std::vector<std::int64_t> Machine::int_tuple(const Obj* o, const char* what) {
    if (o->kind != Kind::Tuple) fail_at(std::string("tensor ") + what + " is not a tuple");
    if (o->items.size() > kMaxDims)
        fail_at(std::string("tensor ") + what + " has more than " + std::to_string(kMaxDims) +
                " dimensions");
    std::vector<std::int64_t> out;
    for (const Obj* item : o->items) {
        if (item->kind != Kind::Int || item->num < 0)
            fail_at(std::string("tensor ") + what +
                    " holds something other than a non-negative int");
        out.push_back(item->num);
    }
    return out;
}

Obj* Machine::rebuild_tensor(const std::vector<Obj*>& args, std::size_t min_args) {
    if (args.size() < min_args || args.size() > 7)
        fail_at("tensor rebuild call with " + std::to_string(args.size()) + " arguments");
    if (args[0]->kind != Kind::Storage) fail_at("tensor rebuild call without a storage");
    if (args[1]->kind != Kind::Int || args[1]->num < 0)
        fail_at("tensor storage offset is not a non-negative integer");
    Obj* t = make(Kind::Tensor);
    t->items.push_back(args[0]);
    t->num = args[1]->num;
    t->size = int_tuple(args[2], "size");
    t->stride = int_tuple(args[3], "stride");
    if (t->size.size() != t->stride.size())
        fail_at("tensor size and stride have different lengths");
    return t;
}

void Machine::reduce() {
    Obj* args = pop();
    Obj* callable = pop();
    if (callable->kind != Kind::Global)
        fail_at("REDUCE on a " + std::string(kind_name(callable->kind)));
    if (args->kind != Kind::Tuple) fail_at("REDUCE with arguments that are not a tuple");
    const std::string& module = callable->text;
    const std::string& name = callable->text2;
    const auto& a = args->items;
    if (module == "collections" && name == "OrderedDict") {
        if (!a.empty()) fail_at("OrderedDict called with arguments");
        push(make(Kind::Dict));
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
        push(rebuild_tensor(a, 6));
    } else if (module == "torch._utils" && name == "_rebuild_tensor") {
        push(rebuild_tensor(a, 4));
    } else if (module == "torch._utils" &&
               (name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state")) {
        // A Parameter is its tensor for our purposes; requires_grad and hooks do not matter.
        if (a.empty() || a[0]->kind != Kind::Tensor) fail_at(name + " without a tensor");
        push(a[0]);
    } else {
        fail_at("cannot call '" + printable(module) + "." + printable(name) + "'");
    }
}

Obj* Machine::run() {
    for (;;) {
        m_op_pos = m_pos;
        if (m_pos >= m_data.size()) fail_at("pickle ends without STOP");
        auto op = std::to_integer<std::uint8_t>(m_data[m_pos++]);
        switch (op) {
        case PROTO: {
            auto version = read_uint(1);
            if (version < 2 || version > 5)
                fail_at("pickle protocol " + std::to_string(version) + " is not supported");
            break;
        }
        case FRAME:
            read_uint(8);
            break; // frames only group opcodes; we read straight through
        case STOP:
            return pop();
        case MARK:
            if (m_marks.size() >= kMaxStack) fail_at("too many nested MARKs");
            m_marks.push_back(m_stack.size());
            break;
        case POP:
            pop();
            break;
        case POP_MARK:
            pop_mark();
            break;
        case DUP:
            push(top());
            break;
        case NONE:
            push(make(Kind::None));
            break;
        case NEWTRUE:
        case NEWFALSE: {
            Obj* o = make(Kind::Bool);
            o->num = op == NEWTRUE;
            push(o);
            break;
        }
        case BININT:
            push_int(static_cast<std::int32_t>(read_uint(4)));
            break;
        case BININT1:
            push_int(static_cast<std::int64_t>(read_uint(1)));
            break;
        case BININT2:
            push_int(static_cast<std::int64_t>(read_uint(2)));
            break;
        case LONG1:
            read_long(read_uint(1));
            break;
        case LONG4:
            read_long(read_uint(4));
            break;
        case BINFLOAT: {
            std::uint64_t bits = 0;
            for (std::byte b : std::span(need(8), 8))
                bits = (bits << 8) | std::to_integer<std::uint8_t>(b);
            Obj* o = make(Kind::Float);
            std::memcpy(&o->real, &bits, sizeof bits);
            push(o);
            break;
        }
        case SHORT_BINUNICODE:
            push_string(Kind::String, read_bytes(read_uint(1)));
            break;
        case BINUNICODE:
            push_string(Kind::String, read_bytes(read_uint(4)));
            break;
        case BINUNICODE8:
            push_string(Kind::String, read_bytes(read_uint(8)));
            break;
        case SHORT_BINBYTES:
            push_string(Kind::Bytes, read_bytes(read_uint(1)));
            break;
        case BINBYTES:
            push_string(Kind::Bytes, read_bytes(read_uint(4)));
            break;
        case BINBYTES8:
            push_string(Kind::Bytes, read_bytes(read_uint(8)));
            break;
        case GLOBAL: {
            std::string_view module = read_line();
            std::string_view name = read_line();
            push_global(module, name);
            break;
        }
        case STACK_GLOBAL: {
            Obj* name = pop();
            Obj* module = pop();
            if (name->kind != Kind::String || module->kind != Kind::String)
                fail_at("STACK_GLOBAL on something other than strings");
            push_global(module->text, name->text);
            break;
        }
        case EMPTY_TUPLE:
            push_tuple({});
            break;
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
            std::size_t n = op - TUPLE1 + 1;
            std::vector<Obj*> items(n);
            for (std::size_t i = n; i-- > 0;) items[i] = pop();
            push_tuple(std::move(items));
            break;
        }
        case TUPLE:
            push_tuple(pop_mark());
            break;
        case EMPTY_LIST:
            push(make(Kind::List));
            break;
        case LIST: {
            Obj* o = make(Kind::List);
            o->items = pop_mark();
            contain(o->items.size());
            push(o);
            break;
        }
        case APPEND: {
            Obj* v = pop();
            Obj* list = top();
            if (list->kind != Kind::List)
                fail_at("APPEND to a " + std::string(kind_name(list->kind)));
            contain(1);
            list->items.push_back(v);
            break;
        }
        case APPENDS: {
            auto items = pop_mark();
            Obj* list = top();
            if (list->kind != Kind::List)
                fail_at("APPENDS to a " + std::string(kind_name(list->kind)));
            contain(items.size());
            list->items.insert(list->items.end(), items.begin(), items.end());
            break;
        }
        case EMPTY_DICT:
            push(make(Kind::Dict));
            break;
        case DICT: {
            auto items = pop_mark();
            if (items.size() % 2) fail_at("DICT with an odd number of items");
            Obj* o = make(Kind::Dict);
            contain(items.size());
            o->items = std::move(items);
            push(o);
            break;
        }
        case SETITEM: {
            Obj* v = pop();
            Obj* k = pop();
            Obj* dict = top();
            if (dict->kind != Kind::Dict)
                fail_at("SETITEM on a " + std::string(kind_name(dict->kind)));
            contain(2);
            dict->items.push_back(k);
            dict->items.push_back(v);
            break;
        }
        case SETITEMS: {
            auto items = pop_mark();
            if (items.size() % 2) fail_at("SETITEMS with an odd number of items");
            Obj* dict = top();
            if (dict->kind != Kind::Dict)
                fail_at("SETITEMS on a " + std::string(kind_name(dict->kind)));
            contain(items.size());
            dict->items.insert(dict->items.end(), items.begin(), items.end());
            break;
        }
        case BUILD: {
            pop(); // state
            Obj* target = top();
            // OrderedDict state dicts carry a `_metadata` attribute set by BUILD; it holds
            // module versions, nothing about the tensors.
            if (target->kind != Kind::Dict)
                fail_at("BUILD on a " + std::string(kind_name(target->kind)));
            break;
        }
        case REDUCE:
            reduce();
            break;
        case BINPERSID:
            persistent_load();
            break;
        case BINPUT:
            m_memo[read_uint(1)] = top();
            break;
        case LONG_BINPUT:
            m_memo[read_uint(4)] = top();
            break;
        case MEMOIZE:
            m_memo[m_memo.size()] = top();
            break;
        case BINGET:
        case LONG_BINGET: {
            auto key = read_uint(op == BINGET ? 1 : 4);
            auto it = m_memo.find(key);
            if (it == m_memo.end()) fail_at("memo entry " + std::to_string(key) + " is missing");
            push(it->second);
            break;
        }
        default: {
            static const char* hex = "0123456789abcdef";
            fail_at(std::string("unsupported pickle opcode 0x") + hex[op >> 4] + hex[op & 15]);
        }
        }
        if (m_memo.size() > kMaxObjects) fail_at("pickle memo grows past its limit");
    }
}

const Obj* find_key(const Obj* dict, std::string_view key) {
    for (std::size_t i = 0; i + 1 < dict->items.size(); i += 2)
        if (dict->items[i]->kind == Kind::String && dict->items[i]->text == key)
            return dict->items[i + 1];
    return nullptr;
}

bool has_tensor(const Obj* dict) {
    for (std::size_t i = 1; i < dict->items.size(); i += 2)
        if (dict->items[i]->kind == Kind::Tensor) return true;
    return false;
}

} // namespace

bool dtype_from_storage_type(std::string_view storage_type, DType& dtype) {
    static constexpr std::array<std::pair<std::string_view, DType>, 8> kTypes{{
        {"FloatStorage", DType::F32},
        {"HalfStorage", DType::F16},
        {"BFloat16Storage", DType::BF16},
        {"DoubleStorage", DType::F64},
        {"CharStorage", DType::I8},
        {"ByteStorage", DType::U8},
        {"IntStorage", DType::I32},
        {"LongStorage", DType::I64},
    }};
    for (const auto& [name, type] : kTypes) {
        if (name == storage_type) {
            dtype = type;
            return true;
        }
    }
    return false;
}

std::vector<PickledTensor> read_torch_pickle(std::span<const std::byte> pickle,
                                             const std::string& label) {
    Machine vm(pickle, label);
    if (pickle.size() > kMaxPickle)
        vm.fail("pickle of " + std::to_string(pickle.size()) +
                " bytes is larger than any state dict's (limit " + std::to_string(kMaxPickle) +
                ")");
    const Obj* root = vm.run();
    if (root->kind != Kind::Dict)
        vm.fail("the pickle holds a " + std::string(kind_name(root->kind)) + ", not a state dict");
    // A training checkpoint wraps the weights: {"model": {...}, "optimizer": ..., "epoch": 3}.
    for (int level = 0; level < 2 && !has_tensor(root); ++level) {
        const Obj* inner = find_key(root, "state_dict");
        if (!inner || inner->kind != Kind::Dict) inner = find_key(root, "model");
        if (!inner || inner->kind != Kind::Dict) break;
        root = inner;
    }

    std::vector<PickledTensor> out;
    std::unordered_set<std::string_view> names;
    for (std::size_t i = 0; i + 1 < root->items.size(); i += 2) {
        const Obj* key = root->items[i];
        const Obj* value = root->items[i + 1];
        if (value->kind != Kind::Tensor) continue;
        if (key->kind != Kind::String)
            vm.fail("a tensor is stored under a " + std::string(kind_name(key->kind)) +
                    " key, not a name");
        if (!names.insert(key->text).second)
            vm.fail("tensor " + printable(key->text) + " appears twice");
        const Obj* storage = value->items[0];
        if (!storage->dtype_known)
            vm.fail("tensor " + printable(key->text) + ": unsupported storage type torch." +
                    printable(storage->text));
        PickledTensor t;
        t.name = key->text;
        t.storage_type = storage->text;
        t.dtype = storage->dtype;
        t.storage_key = storage->text2;
        t.storage_numel = storage->num;
        t.storage_offset = value->num;
        t.size = value->size;
        t.stride = value->stride;
        out.push_back(std::move(t));
    }
    return out;
}

} // namespace gander::io
