{
  # The libtorch paths come from scripts/install-native.mjs (which runs scripts/find-libtorch.mjs)
  # through environment variables, so this file stays declarative.
  "targets": [
    {
      "target_name": "rlhf_torch",
      "sources": ["native/core.cc", "native/ops.cc", "native/fused.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node -p \"process.env.RLHF_TORCH_INCLUDES || ''\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GLIBCXX_USE_CXX11_ABI=<!(node -p \"process.env.RLHF_TORCH_CXX11ABI || '1'\")"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-frtti", "-Wno-unused-parameter", "-Wno-deprecated-declarations", "-Wno-missing-field-initializers"],
      "libraries": [
        "-L<!(node -p \"process.env.RLHF_TORCH_LIBDIR || '/usr/lib'\")",
        "-Wl,-rpath,<!(node -p \"process.env.RLHF_TORCH_LIBDIR || '/usr/lib'\")",
        "-Wl,--no-as-needed",
        "<!@(node -p \"process.env.RLHF_TORCH_LIBS || '-ltorch -ltorch_cpu -lc10'\")",
        "-Wl,--as-needed"
      ]
    }
  ]
}
