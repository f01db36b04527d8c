#!/usr/bin/env python3
"""Seed corpora for the io fuzzers, made from the test fixtures at run time (never committed).

usage: make_seeds.py FIXTURES_DIR OUT_DIR
Writes OUT_DIR/{zip,pickle,safetensors}/: the fixtures' own pickles, small .pth archives with a
few of their real tensors (plain, zip64 and 64-byte-aligned layouts, torch 2.x extra entries),
and small .safetensors files with the golden files' metadata. Python standard library only.
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile


def fixture_pickles(fixtures):
    out = {}
    for name in ("rand-a", "rand-b", "trained-tiny"):
        z = zipfile.ZipFile(os.path.join(fixtures, "rwkv7", name + ".pth"))
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        out[name] = (z, pkl[: -len("data.pkl")], z.read(pkl))
    return out


# Stand-ins for torch's classes, so that the standard pickler writes what torch.save writes.
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils
for cls in ("FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage"):
    setattr(torch, cls, type(cls, (), {"__module__": "torch"}))


def _rebuild_tensor_v2(*args):
    raise RuntimeError("seed generator only pickles")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Storage:
    def __init__(self, cls, key, numel):
        self.cls, self.key, self.numel = cls, key, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride)

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args + (False, collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", getattr(torch, obj.cls), obj.key, "cpu", obj.numel)
        return None


def state_dict_pickle(tensors, protocol):
    buf = io.BytesIO()
    Pickler(buf, protocol=protocol).dump(tensors)
    return buf.getvalue()


def small_pth(folder, tensors, storages, protocol, zip64, extras, align):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        entries = [("data.pkl", state_dict_pickle(tensors, protocol))]
        if extras:
            entries += [("byteorder", b"little"), (".format_version", b"1"),
                        (".storage_alignment", b"64")]
        entries += [("data/" + k, v) for k, v in storages.items()]
        entries += [("version", b"3\n")]
        if extras:
            entries += [(".data/serialization_id", b"0123456789" * 4)]
        for name, data in entries:
            info = zipfile.ZipInfo(folder + "/" + name)
            if align:
                # torch pads each local header's extra field so the payload starts on 64 bytes
                start = buf.tell() + 30 + len(info.filename.encode()) + 4
                pad = (64 - start % 64) % 64
                info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
            with z.open(info, "w", force_zip64=zip64) as f:
                f.write(data)
    return buf.getvalue()


def main():
    fixtures, out = sys.argv[1], sys.argv[2]
    for sub in ("zip", "pickle", "safetensors"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)

    def write(sub, name, data):
        with open(os.path.join(out, sub, name), "wb") as f:
            f.write(data)

    fx = fixture_pickles(fixtures)
    for name, (_, _, pkl) in fx.items():
        write("pickle", name + ".pkl", pkl)

    # Small .pth files: a few real tensors from rand-a (bf16) and rand-b (fp16), one sharing a
    # storage at an offset.
    z, folder, _ = fx["rand-a"]
    r_k = z.read(folder + "data/14")  # blocks.0.att.r_k, bf16 [2,64]
    x_r = z.read(folder + "data/7")   # blocks.0.att.x_r, bf16 [1,1,128]
    zb, folderb, _ = fx["rand-b"]
    ln = zb.read(folderb + "data/1")  # fp16 [256]
    storages = {"0": r_k, "1": x_r, "2": ln}
    s0 = Storage("BFloat16Storage", "0", 128)
    tensors = collections.OrderedDict()
    tensors["blocks.0.att.r_k"] = Tensor(s0, 0, (2, 64), (64, 1))
    tensors["blocks.0.att.r_k.tail"] = Tensor(s0, 64, (64,), (1,))
    tensors["blocks.0.att.x_r"] = Tensor(Storage("BFloat16Storage", "1", 128), 0, (1, 1, 128),
                                         (128, 128, 1))
    tensors["blocks.0.ln1.weight"] = Tensor(Storage("HalfStorage", "2", 256), 0, (256,), (1,))
    plain_dict = dict(tensors)
    n = 0
    for protocol in (2, 4):
        for zip64 in (False, True):
            for extras, align, fold in ((False, False, "rand-a"), (True, True, "archive")):
                td = tensors if protocol == 2 else plain_dict
                write("zip", "small-%d.pth" % n,
                      small_pth(fold, td, storages, protocol, zip64, extras, align))
                write("pickle", "small-%d.pkl" % n, state_dict_pickle(td, protocol))
                n += 1

    # Small .safetensors files with the golden files' header style.
    for gname in ("rand-a", "rand-b"):
        with open(os.path.join(fixtures, "rwkv7", gname + ".golden.safetensors"), "rb") as f:
            b = f.read()
        hlen = struct.unpack("<Q", b[:8])[0]
        header = json.loads(b[8:8 + hlen])
        data = b[8 + hlen:]
        small = {"__metadata__": header["__metadata__"]}
        blob = b""
        for tname, t in header.items():
            if tname == "__metadata__":
                continue
            begin = t["data_offsets"][0]
            if t["dtype"] == "I32":
                piece = data[begin:begin + 16]
                small[tname] = {"dtype": "I32", "shape": [4]}
            else:
                piece = data[begin:begin + 24]
                small[tname] = {"dtype": t["dtype"], "shape": [2, 3]}
            small[tname]["data_offsets"] = [len(blob), len(blob) + len(piece)]
            blob += piece
        text = json.dumps(small).encode()
        text += b" " * ((8 - (8 + len(text)) % 8) % 8)
        write("safetensors", gname + "-small.safetensors", struct.pack("<Q", len(text)) + text + blob)
    dtypes = {"F32": 4, "F16": 2, "BF16": 2, "I8": 1, "U8": 1, "I32": 4, "I64": 8, "F64": 8}
    header, blob = {}, b""
    for i, (dt, size) in enumerate(dtypes.items()):
        piece = bytes(range(i, i + 3 * size))
        header["t.%s" % dt.lower()] = {"dtype": dt, "shape": [3], "data_offsets": [len(blob), len(blob) + len(piece)]}
        blob += piece
    header["empty"] = {"dtype": "F32", "shape": [0, 5], "data_offsets": [len(blob), len(blob)]}
    header["__metadata__"] = {"format": "pt", "escaped": "tab\there \u00e9 \U0001F600"}
    text = json.dumps(header).encode()
    write("safetensors", "dtypes.safetensors", struct.pack("<Q", len(text)) + text + blob)


if __name__ == "__main__":
    main()
