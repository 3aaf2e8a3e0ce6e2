#include "engine/pytorch_twin_bench.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "common/error.hpp"
#include "common/text.hpp"
#include "engine/build_constants.hpp"

namespace vitsweep::engine {

namespace {

// 'text' for /bin/sh, with every ' inside closed, escaped and reopened.
std::string shell_quote(const std::string& text) {
  std::string out(1, '\'');
  for (char c : text) {
    if (c == '\'') {
      out.append("'\\''");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

struct CommandResult {
  std::string output;  // stdout; stderr goes to ours
  int status = 0;      // the exit status, -1 when it did not exit normally
};

CommandResult run_command(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) fail("--vs-pytorch: cannot run {}: {}", command, errno_text(errno));
  CommandResult result;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace

std::string default_twin_script() {
  return std::string(VITSWEEP_SOURCE_DIR) + "/tests/reference/bench_twin.py";
}

void check_pytorch_twin(const PytorchTwin& twin) {
  if (!std::filesystem::is_regular_file(twin.script)) {
    fail("--vs-pytorch: the PyTorch twin's script {} does not exist", twin.script);
  }
  const std::string probe = shell_quote(twin.python) + " -c 'import torch' >/dev/null 2>&1";
  if (run_command(probe).status != 0) {
    fail(
        "--vs-pytorch: {} cannot import torch (Debian package python3-torch); run without "
        "--vs-pytorch to time the engine alone",
        twin.python);
  }
}

namespace {

// Runs bench_twin.py on one case and attention with `mode` words after the common ones, and
// returns its one object under "configs", which must hold `figure`.
OrderedJson run_twin(const PytorchTwin& twin, const std::string& case_name, const std::string& attn,
                     int threads, const std::vector<std::string>& mode, const std::string& figure) {
  std::vector<std::string> words = {twin.python, twin.script, "--quiet",
                                    "--config",  case_name,   "--attn",
                                    attn,        "--threads", std::to_string(threads)};
  words.insert(words.end(), mode.begin(), mode.end());
  // torch.set_num_threads does not reach libblas's own OpenBLAS threads. (The twin keeps glibc
  // from handing its freed memory back to the kernel itself: bench_twin.py, keep_freed_memory.)
  std::string command = fmt::format(
      "OPENBLAS_CORETYPE=${{OPENBLAS_CORETYPE:-SkylakeX}} OPENBLAS_NUM_THREADS={}", threads);
  for (const auto& word : words) command.append(" ").append(shell_quote(word));
  const CommandResult run = run_command(command);
  if (run.status != 0) {
    fail("--vs-pytorch: {} --config {} --attn {} failed (exit status {}; its error is above)",
         twin.script, case_name, attn, run.status);
  }
  OrderedJson out;
  try {
    out = OrderedJson::parse(run.output);
  } catch (const std::exception&) {
    fail("--vs-pytorch: {} printed no JSON object for {} {}", twin.script, case_name, attn);
  }
  const OrderedJson* config = nullptr;
  if (out.is_object() && out.contains("configs") && out["configs"].is_array() &&
      out["configs"].size() == 1 && out["configs"][0].contains(figure)) {
    config = &out["configs"][0];
  }
  if (config == nullptr) {
    fail("--vs-pytorch: {} printed no \"configs\": [{{\"{}\": ...}}] for {} {}", twin.script,
         figure, case_name, attn);
  }
  OrderedJson result = *config;
  result["torch_version"] = out.value("torch_version", OrderedJson());
  result["blas"] = out.value("blas", OrderedJson());
  return result;
}

}  // namespace

OrderedJson benchmark_pytorch_twin(const PytorchTwin& twin, const std::string& case_name,
                                   const std::string& attn, int threads, int steps, int warmup) {
  return run_twin(
      twin, case_name, attn, threads,
      {"--steps", std::to_string(steps), "--warmup", std::to_string(std::max(warmup, 1))},
      "ms_per_step");
}

OrderedJson benchmark_pytorch_twin_trial(const PytorchTwin& twin, const std::string& case_name,
                                         const std::string& attn, int threads, int64_t epochs,
                                         int64_t train_subset) {
  return run_twin(twin, case_name, attn, threads,
                  {"--trial", "--epochs", std::to_string(epochs), "--train-subset",
                   std::to_string(train_subset)},
                  "total_s");
}

}  // namespace vitsweep::engine
