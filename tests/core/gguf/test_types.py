"""The type tables the reader uses are the official gguf package's."""

import gguf

from tierdeck.core.gguf.types import FILE_TYPES, GGML_TYPES


def test_ggml_types_match_gguf_package():
    official = {int(k): (k.name, v[0], v[1]) for k, v in gguf.GGML_QUANT_SIZES.items()}
    assert official == GGML_TYPES


def test_file_types_match_gguf_package():
    assert {int(k): k.name.removeprefix("MOSTLY_") for k in gguf.LlamaFileType} == FILE_TYPES
