#include "engine/benchmark.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "common/random.hpp"
#include "common/statistics.hpp"
#include "common/text.hpp"
#include "engine/attention.hpp"
#include "engine/build_info.hpp"
#include "engine/loss.hpp"
#include "engine/matmul.hpp"
#include "engine/micro_batches.hpp"
#include "engine/optimizer.hpp"
#include "engine/trainer.hpp"
#include "engine/vit.hpp"

namespace vitsweep::engine {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The case's settings with the --set overrides, then `attn`.
TrialConfig case_config(const BenchmarkCase& bench, const std::string& attn,
                        const BenchmarkOptions& options) {
  OrderedJson settings = bench.settings;
  for (const auto& assignment : options.settings) {
    auto [key, value] = parse_setting(assignment);
    check_setting(key, value, fmt::format("--set {}", assignment));
    settings[key] = value;
  }
  settings["attn"] = attn;
  return parse_trial_config(settings, bench.name);
}

}  // namespace

const std::vector<BenchmarkCase>& benchmark_cases() {
  static const std::vector<BenchmarkCase> cases = {
      {"fmnist-mini", {{"dataset", "fashion-mnist"}, {"model", "mini/4"}, {"batch_size", 128}}},
      {"fmnist-nano",
       {{"dataset", "fashion-mnist"}, {"model", "nano/4"}, {"qk_norm", true}, {"batch_size", 128}}},
      {"fmnist-micro",
       {{"dataset", "fashion-mnist"},
        {"model", "micro/4"},
        {"qk_norm", true},
        {"batch_size", 128}}},
      {"S/16-224",
       {{"dataset", "synthetic"},
        {"synthetic_size", 224},
        {"synthetic_channels", 3},
        {"synthetic_classes", 1000},
        {"model", "S/16"},
        {"batch_size", 16}}},
      {"S/8-224",
       {{"dataset", "synthetic"},
        {"synthetic_size", 224},
        {"synthetic_channels", 3},
        {"synthetic_classes", 1000},
        {"model", "S/8"},
        {"batch_size", 4}}},
  };
  return cases;
}

const std::vector<BenchmarkCase>& attention_benchmark_cases() {
  static const std::vector<BenchmarkCase> cases = {
      {"fmnist-mini", {{"dataset", "fashion-mnist"}, {"model", "mini/4"}, {"batch_size", 128}}},
      {"fmnist-mini/2", {{"dataset", "fashion-mnist"}, {"model", "mini/2"}, {"batch_size", 32}}},
      {"S/16-224-cls",
       {{"dataset", "synthetic"},
        {"synthetic_size", 224},
        {"synthetic_channels", 3},
        {"synthetic_classes", 1000},
        {"model", "S/16"},
        {"pool", "cls"},
        {"batch_size", 16}}},
  };
  return cases;
}

double measure_gemm_ceiling_gflops(Precision precision, int size, int repeats) {
  MatmulRunner mm(precision);
  std::vector<float> a(static_cast<size_t>(size) * size, 0.5f), b(a.size(), 0.25f), c(a.size());
  auto run = [&] {
    mm.run(matrix(c.data(), size, size), matrix(a.data(), size, size),
           matrix(b.data(), size, size));
  };
  for (int i = 0; i < 3; ++i) run();
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const double t0 = now_seconds();
    run();
    best = std::min(best, now_seconds() - t0);
  }
  return 2.0 * size * size * static_cast<double>(size) / best / 1e9;
}

OrderedJson benchmark_training(const BenchmarkCase& bench, const std::string& attn,
                               const BenchmarkOptions& options, ReplicaGroup* replicas) {
  const TrialConfig config = case_config(bench, attn, options);
  const ModelShape shape = ModelShape::from_config(config);
  MatmulRunner mm(precision_from_name(config.precision));
  VisionTransformer model(shape, mm);
  model.initialize(1);
  Optimizer optimizer(model.layout(), OptimizerSettings::from_config(config));
  std::unique_ptr<DataParallel> parallel;
  if (replicas != nullptr && replicas->size() > 1) {
    parallel = std::make_unique<DataParallel>(*replicas, model, options.bucket_bytes);
  }

  const int64_t batch = config.batch_size;
  const int64_t local = parallel ? parallel->local_batch(batch) : batch;
  const int64_t image_floats = shape.channels * shape.image_height * shape.image_width;
  std::vector<float> images(static_cast<size_t>(local * image_floats));
  Random random(7 + (parallel ? parallel->rank() : 0));
  for (float& x : images) x = static_cast<float>(random.normal());
  std::vector<int32_t> labels(static_cast<size_t>(local));
  for (auto& label : labels) label = static_cast<int32_t>(random.below(shape.classes));
  std::vector<float> d_logits(static_cast<size_t>(local * shape.classes));
  const LossKind loss_kind = loss_from_name(config.loss);

  const int64_t micro = parallel ? local
                        : options.micro_batch > 0
                            ? std::min(options.micro_batch, local)
                            : micro_batch_images(shape, local, options.threads);
  auto step = [&] {
    if (parallel) {
      parallel->train_on_slice(loss_kind, 0.0, images.data(), labels.data(), local, d_logits.data(),
                               batch, /*stop=*/false);
    } else {
      train_on_batch(model, loss_kind, 0.0, images.data(), labels.data(), local, micro,
                     d_logits.data());
    }
    const double t0 = now_seconds();
    optimizer.step(model.parameters().data(), model.gradients().data(), 1e-4);
    if (model.times().enabled) {
      model.times().seconds[static_cast<size_t>(Phase::optimizer)] += now_seconds() - t0;
    }
  };
  for (int i = 0; i < options.warmup_steps; ++i) step();
  model.times().enabled = true;
  model.times().reset();
  if (parallel) parallel->times() = CommunicationTimes{};
  std::vector<double> step_seconds;
  for (int i = 0; i < options.steps; ++i) {
    const double t0 = now_seconds();
    step();
    step_seconds.push_back(now_seconds() - t0);
  }
  model.times().enabled = false;
  double total = 0;
  for (double s : step_seconds) total += s;
  const double mean = total / options.steps;
  const double median_s = median(step_seconds);
  const double flops_per_step = shape.training_flops_per_image() * batch;

  OrderedJson phases = OrderedJson::object();
  for (size_t p = 0; p < static_cast<size_t>(Phase::count); ++p) {
    phases[phase_name(static_cast<Phase>(p))] = 1e3 * model.times().seconds[p] / options.steps;
  }
  OrderedJson out = {{"name", bench.name},
                     {"attn", attn},
                     {"attn_kernel", config.attn_kernel},
                     {"precision", config.precision},
                     {"batch", batch},
                     {"micro_batch", micro},
                     {"tokens", shape.tokens},
                     {"width", shape.width},
                     {"depth", shape.depth},
                     {"params", model.parameter_count()},
                     {"steps", options.steps},
                     {"ms_per_step", 1e3 * mean},
                     {"ms_per_step_median", 1e3 * median_s},
                     {"img_per_s", batch / median_s},
                     {"gflop_per_step", flops_per_step / 1e9},
                     {"achieved_gflops", flops_per_step / median_s / 1e9},
                     {"phases_ms", phases}};
  if (parallel) {
    const CommunicationTimes& c = parallel->times();
    const bool overlap = parallel->bucket_bytes() < model.gradients().size() * 4;
    out["ranks"] = parallel->size();
    out["local_batch"] = local;
    out["communication"] = {
        {"gradient_mib_per_step", model.gradients().size() * 4.0 / (1 << 20)},
        {"overlap", overlap},
        {"bucket_kib", overlap ? OrderedJson(parallel->bucket_bytes() / 1024) : OrderedJson()},
        {"buckets_per_step", parallel->buckets_per_step()},
        {"wait_ms_per_step", 1e3 * c.wait_seconds / options.steps},
        {"call_ms_per_step", 1e3 * c.call_seconds / options.steps},
        {"wait_share", c.wait_seconds / total},
        {"call_share", c.call_seconds / total}};
  }
  return out;
}

OrderedJson benchmark_trial(const BenchmarkCase& bench, const std::string& attn,
                            const BenchmarkOptions& options) {
  if (options.micro_batch != 0) {
    fail_usage("--trial runs micro-batches as a trial does: leave out --micro-batch");
  }
  TrialConfig config = case_config(bench, attn, options);
  const auto set_by_user = [&](std::string_view key) {
    return std::any_of(options.settings.begin(), options.settings.end(),
                       [&](const std::string& a) { return parse_setting(a).first == key; });
  };
  if (set_by_user("max_steps")) {
    fail_usage("--trial times whole epochs: leave out --set max_steps (set epochs instead)");
  }
  if (!set_by_user("epochs")) config.epochs = 1;
  if (!set_by_user("train_subset") && config.dataset != "synthetic") config.train_subset = 20000;
  config.threads = options.threads;  // what the command's --threads gave the process

  const double start = now_seconds();
  const data::Dataset dataset = data::load_dataset(config);
  const double loaded = now_seconds();
  Trainer trainer(config, dataset);
  const double built = now_seconds();
  // A step's callback comes after its optimizer step, an epoch's after its evaluation (test and,
  // with val_fraction, validation): the time from an epoch's last step to its record is the
  // evaluation's. (A diverged trial ends inside a step: that step's time is in neither.)
  double last = built, train_s = 0, evaluate_s = 0;
  TrainerCallbacks callbacks;
  callbacks.on_step = [&](const StepProgress&) {
    const double now = now_seconds();
    train_s += now - last;
    last = now;
  };
  callbacks.on_epoch = [&](const EpochRecord&) {
    const double now = now_seconds();
    evaluate_s += now - last;
    last = now;
  };
  const TrialOutcome outcome = trainer.run(callbacks);
  const double total_s = now_seconds() - start;
  const int64_t epochs = trainer.epochs_done();
  const int64_t trained = trainer.optimizer().steps() * config.batch_size;
  const int64_t evaluated = (dataset.val.count + dataset.test.count) * epochs;
  const auto per_second = [](int64_t images, double seconds) {
    return seconds > 0 ? OrderedJson(static_cast<double>(images) / seconds) : OrderedJson();
  };
  return {{"name", bench.name},
          {"attn", attn},
          {"mode", "trial"},
          {"batch", config.batch_size},
          {"micro_batch", trainer.micro_batch()},
          {"tokens", trainer.shape().tokens},
          {"epochs", epochs},
          {"train_images", dataset.train.count},
          {"test_images", dataset.test.count},
          {"outcome", outcome.status == TrialStatus::done ? "done" : outcome.message},
          {"test_acc", outcome.final_test.accuracy},
          {"load_s", loaded - start},
          {"build_s", built - loaded},
          {"train_s", train_s},
          {"evaluate_s", evaluate_s},
          {"total_s", total_s},
          {"evaluate_share", evaluate_s / total_s},
          {"load_share", (loaded - start) / total_s},
          {"train_img_per_s", per_second(trained, train_s)},
          {"evaluate_img_per_s", per_second(evaluated, evaluate_s)}};
}

namespace {

// One attention function with one kernel: its buffers, random q, k, v, d_out, and its timings.
struct CoreRun {
  CoreRun(std::string attn, std::string kernel, const ModelShape& shape, int64_t batch)
      : attn(std::move(attn)), kernel(std::move(kernel)), shape(shape), work(shape, batch) {}

  std::string attn, kernel;
  ModelShape shape;
  AttentionWorkspace work;
  std::vector<float> d_out;
  std::vector<double> forward_s, total_s;
};

}  // namespace

OrderedJson benchmark_attention_core(const BenchmarkCase& bench,
                                     const std::vector<std::string>& attns,
                                     const BenchmarkOptions& options) {
  // Both kernels, unless the settings name one.
  std::vector<std::string> kernels = {"fused", "matmul"};
  for (const auto& assignment : options.settings) {
    const auto [key, value] = parse_setting(assignment);
    if (key == "attn_kernel" && value.is_string()) kernels = {value.get<std::string>()};
  }
  MatmulRunner mm(precision_from_name(case_config(bench, attns.front(), options).precision));
  std::vector<std::unique_ptr<CoreRun>> runs;
  int64_t batch = 0;
  for (const auto& kernel : kernels) {
    for (const auto& attn : attns) {
      BenchmarkOptions with_kernel = options;
      with_kernel.settings.push_back("attn_kernel=" + kernel);
      const TrialConfig config = case_config(bench, attn, with_kernel);
      batch = config.batch_size;
      auto run = std::make_unique<CoreRun>(attn, kernel, ModelShape::from_config(config), batch);
      AttentionActivations& acts = run->work.acts;
      const int64_t bnd = batch * run->shape.tokens * run->shape.width;
      run->d_out.resize(static_cast<size_t>(bnd));
      Random random(11);
      for (float* x : {acts.q, acts.k, acts.v, run->d_out.data()}) {
        for (int64_t i = 0; i < bnd; ++i) x[i] = static_cast<float>(random.normal());
      }
      runs.push_back(std::move(run));
    }
  }
  auto pass = [&](CoreRun& r, bool timed) {
    AttentionActivations& acts = r.work.acts;
    AttentionScratch& scratch = r.work.scratch;
    // The backward adds into dq, dk, dv: zeroed as the layer does, outside the timing.
    const int64_t bnd = batch * r.shape.tokens * r.shape.width;
    for (float* d : {scratch.dq, scratch.dk, scratch.dv}) std::fill(d, d + bnd, 0.0f);
    const double t0 = now_seconds();
    attention_core_forward(mm, r.shape, acts.q, acts.k, acts, batch);
    const double t1 = now_seconds();
    attention_core_backward(mm, r.shape, acts.q, acts.k, acts, r.d_out.data(), scratch.dq,
                            scratch.dk, scratch.dv, scratch, batch);
    const double t2 = now_seconds();
    if (!timed) return;
    r.forward_s.push_back(t1 - t0);
    r.total_s.push_back(t2 - t0);
  };
  for (int i = 0; i < options.warmup_steps; ++i) {
    for (auto& r : runs) pass(*r, false);
  }
  // Turn by turn, so a burst of load from elsewhere slows every run alike, and each step starting
  // with the next run: the run after a oneDNN call shares the cores with OpenMP threads still
  // spinning (onednn-notes.md), and every run should take that place equally often.
  for (int i = 0; i < options.steps; ++i) {
    for (size_t j = 0; j < runs.size(); ++j) pass(*runs[(i + j) % runs.size()], true);
  }

  const ModelShape& shape = runs.front()->shape;
  // Multiply-adds x 2 of Q.K^T and A.V forward, and of the four products backward.
  const double flops = 12.0 * static_cast<double>(shape.tokens * shape.tokens) *
                       static_cast<double>(shape.head_dim * shape.heads * batch);
  OrderedJson ms = OrderedJson::object();
  std::map<std::pair<std::string, std::string>, double> total_ms;
  for (const auto& r : runs) {
    const double forward = 1e3 * median(r->forward_s), total = 1e3 * median(r->total_s);
    std::vector<double> backward_s(r->total_s.size());
    for (size_t i = 0; i < backward_s.size(); ++i) backward_s[i] = r->total_s[i] - r->forward_s[i];
    ms[r->kernel][r->attn] = {{"forward", forward},
                              {"backward", 1e3 * median(backward_s)},
                              {"total", total},
                              {"gflops", flops / (total / 1e3) / 1e9}};
    total_ms[{r->kernel, r->attn}] = total;
  }
  OrderedJson softmax_over = OrderedJson::object();
  OrderedJson matmul_over_fused = OrderedJson::object();
  // Ratios only between runs that happened (one kernel, or no softmax, leave some out).
  auto ratio =
      [&](const std::pair<std::string, std::string>& numerator,
          const std::pair<std::string, std::string>& denominator) -> std::optional<double> {
    const auto n = total_ms.find(numerator), d = total_ms.find(denominator);
    if (n == total_ms.end() || d == total_ms.end()) return std::nullopt;
    return n->second / d->second;
  };
  for (const auto& attn : attns) {
    if (auto r = ratio({"matmul", attn}, {"fused", attn})) matmul_over_fused[attn] = *r;
    if (attn == "softmax") continue;
    for (const auto& kernel : kernels) {
      if (auto r = ratio({kernel, "softmax"}, {kernel, attn})) softmax_over[kernel][attn] = *r;
    }
  }
  return {{"name", bench.name},
          {"tokens", shape.tokens},
          {"batch", batch},
          {"heads", shape.heads},
          {"head_dim", shape.head_dim},
          {"steps", options.steps},
          {"ms", ms},
          {"softmax_over", softmax_over},
          {"matmul_over_fused", matmul_over_fused}};
}

double peak_resident_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return 0.0;
}

namespace {

std::vector<BenchmarkCase> select_cases(const std::vector<BenchmarkCase>& cases,
                                        std::vector<std::string> names,
                                        const std::vector<std::string>& defaults) {
  std::vector<std::string> known;
  for (const auto& c : cases) known.push_back(c.name);
  if (names.empty()) names = defaults.empty() ? known : defaults;
  std::vector<BenchmarkCase> selected;
  for (const auto& name : names) {
    const auto it =
        std::find_if(cases.begin(), cases.end(), [&](const auto& c) { return c.name == name; });
    if (it == cases.end()) {
      fail_usage("--case '{}': expected one of {}{}", name, join(known), did_you_mean(name, known));
    }
    selected.push_back(*it);
  }
  return selected;
}

OrderedJson attention_core_results(const std::vector<BenchmarkCase>& cases,
                                   const BenchmarkRequest& request,
                                   const std::function<void(const std::string&)>& log) {
  OrderedJson results = OrderedJson::array();
  for (const auto& c : cases) {
    OrderedJson result = benchmark_attention_core(c, request.attns, request.options);
    for (const auto& [kernel, by_attn] : result["ms"].items()) {
      for (const auto& [attn, times] : by_attn.items()) {
        log(fmt::format("{} (L={}) {} {}: {:.2f} ms forward + backward", c.name,
                        result["tokens"].get<int64_t>(), kernel, attn,
                        times["total"].get<double>()));
      }
    }
    results.push_back(result);
  }
  return results;
}

// The twin on the engine's case, attention and threads: result["pytorch"] and the speed-up.
void add_pytorch_twin(const PytorchTwin& twin, const BenchmarkRequest& request, OrderedJson& result,
                      const std::function<void(const std::string&)>& log) {
  const std::string name = result["name"], attn = result["attn"];
  OrderedJson torch = benchmark_pytorch_twin(twin, name, attn, request.threads,
                                             request.options.steps, request.options.warmup_steps);
  if (torch.value("tokens", OrderedJson()) != result["tokens"] ||
      torch.value("batch", OrderedJson()) != result["batch"]) {
    fail("--vs-pytorch: the twin's {} has {} tokens and batch {}, the engine's {} and {}", name,
         torch.value("tokens", OrderedJson()).dump(), torch.value("batch", OrderedJson()).dump(),
         result["tokens"].dump(), result["batch"].dump());
  }
  const double torch_ms = torch["ms_per_step"].get<double>();
  result["engine_speedup"] = torch_ms / result["ms_per_step"].get<double>();
  result["pytorch"] = std::move(torch);
  log(fmt::format("{} {}: PyTorch {:.1f} ms/step, engine {:.2f}x faster", name, attn, torch_ms,
                  result["engine_speedup"].get<double>()));
}

// run(case, attn, options) for every case and attention function, on the request's threads.
template <typename Run>
void for_each_configuration(const std::vector<BenchmarkCase>& cases,
                            const BenchmarkRequest& request, Run&& run) {
  for (const auto& c : cases) {
    for (const auto& attn : request.attns) {
      BenchmarkOptions options = request.options;
      options.threads = request.threads;
      run(c, attn, options);
    }
  }
}

// Fills out["configs"]; a bf16 case adds the bf16 ceiling its MFU is measured against.
void training_results(const std::vector<BenchmarkCase>& cases, const BenchmarkRequest& request,
                      OrderedJson& out, const std::function<void(const std::string&)>& log) {
  out["configs"] = OrderedJson::array();
  for_each_configuration(
      cases, request,
      [&](const BenchmarkCase& c, const std::string& attn, const BenchmarkOptions& options) {
        OrderedJson result = benchmark_training(c, attn, options, request.replicas);
        const bool bf16 = result["precision"] == "bf16";
        if (bf16 && !out.contains("bf16_gemm_ceiling_gflops")) {
          out["bf16_gemm_ceiling_gflops"] = measure_gemm_ceiling_gflops(Precision::bf16);
        }
        const double ceiling = out[bf16 ? "bf16_gemm_ceiling_gflops" : "gemm_ceiling_gflops"];
        result["mfu"] = result["achieved_gflops"].get<double>() / ceiling;
        log(fmt::format("{} {}: {:.1f} img/s, {:.1f} ms/step, MFU {:.0f}%", c.name, attn,
                        result["img_per_s"].get<double>(),
                        result["ms_per_step_median"].get<double>(),
                        100 * result["mfu"].get<double>()));
        if (request.pytorch) add_pytorch_twin(*request.pytorch, request, result, log);
        out["configs"].push_back(result);
      });
}

// The twin's whole trial of the same length beside the engine's: result["pytorch"] and the
// speed-up of the whole trial.
void add_pytorch_twin_trial(const PytorchTwin& twin, int threads, OrderedJson& result,
                            const std::function<void(const std::string&)>& log) {
  const std::string name = result["name"], attn = result["attn"];
  OrderedJson torch = benchmark_pytorch_twin_trial(twin, name, attn, threads, result["epochs"],
                                                   result["train_images"]);
  for (const char* key : {"tokens", "batch", "train_images", "test_images", "epochs"}) {
    if (torch.value(key, OrderedJson()) != result.value(key, OrderedJson())) {
      fail("--vs-pytorch: the twin's {} trial has {} {}, the engine's {}", name, key,
           torch.value(key, OrderedJson()).dump(), result.value(key, OrderedJson()).dump());
    }
  }
  result["engine_speedup"] = torch["total_s"].get<double>() / result["total_s"].get<double>();
  log(fmt::format("{} {}: PyTorch trial {:.2f} s, engine {:.2f}x faster", name, attn,
                  torch["total_s"].get<double>(), result["engine_speedup"].get<double>()));
  result["pytorch"] = std::move(torch);
}

// Fills out["trials"]: one whole trial per case and attention function.
void trial_results(const std::vector<BenchmarkCase>& cases, const BenchmarkRequest& request,
                   OrderedJson& out, const std::function<void(const std::string&)>& log) {
  out["trials"] = OrderedJson::array();
  for_each_configuration(
      cases, request,
      [&](const BenchmarkCase& c, const std::string& attn, const BenchmarkOptions& options) {
        OrderedJson result = benchmark_trial(c, attn, options);
        log(fmt::format(
            "{} {} trial: {:.2f} s (load {:.2f}, train {:.2f}, evaluate {:.2f} = {:.0f}%), {} "
            "epoch(s) of {} images",
            c.name, attn, result["total_s"].get<double>(), result["load_s"].get<double>(),
            result["train_s"].get<double>(), result["evaluate_s"].get<double>(),
            100 * result["evaluate_share"].get<double>(), result["epochs"].get<int64_t>(),
            result["train_images"].get<int64_t>()));
        if (request.pytorch) add_pytorch_twin_trial(*request.pytorch, request.threads, result, log);
        out["trials"].push_back(result);
      });
}

}  // namespace

OrderedJson run_benchmarks(const BenchmarkRequest& request,
                           const std::function<void(const std::string&)>& log) {
  if (request.whole_trial) {
    if (request.attention_core) fail_usage("--trial and --attention: choose one");
    if (request.replicas && request.replicas->size() > 1) {
      fail_usage("--trial: times a trial in one process, not under mpirun");
    }
  }
  const std::vector<BenchmarkCase> cases =
      request.attention_core
          ? select_cases(attention_benchmark_cases(), request.cases, {})
          : select_cases(benchmark_cases(), request.cases,
                         request.whole_trial
                             ? std::vector<std::string>{"fmnist-nano", "fmnist-micro"}
                             : std::vector<std::string>{"fmnist-mini", "S/16-224"});
  if (request.attention_core &&
      std::find(request.attns.begin(), request.attns.end(), "none") != request.attns.end()) {
    fail_usage(
        "--attention times the attention core, which attn none does not have (time its "
        "training steps: leave out --attention)");
  }
  if (request.pytorch) {
    // The twin runs the cases as they are named: no overrides, no attention core, one process.
    if (request.attention_core) fail_usage("--vs-pytorch: times training steps, not --attention");
    // A whole trial's length it can follow: --set epochs and train_subset.
    for (const std::string& assignment : request.options.settings) {
      const std::string key = parse_setting(assignment).first;
      if (!request.whole_trial || (key != "epochs" && key != "train_subset")) {
        fail_usage("--vs-pytorch: the PyTorch twin cannot apply --set {}{}", assignment,
                   request.whole_trial ? " (with --trial: only epochs and train_subset)" : "");
      }
    }
    if (request.replicas && request.replicas->size() > 1) {
      fail_usage("--vs-pytorch: the PyTorch twin runs in one process, not under mpirun");
    }
    check_pytorch_twin(*request.pytorch);
  }
  const BuildInfo info = build_info();
  OrderedJson out = OrderedJson::object();
  out["engine"] = "vitsweep " + info.version + " (" + info.git_commit + ")";
  out["onednn"] = info.onednn;
  out["cpu_isa"] = info.cpu_isa;
  out["threads"] = request.threads;
  out["ranks"] = request.replicas ? request.replicas->size() : 1;
  if (!request.whole_trial) out["gemm_ceiling_gflops"] = measure_gemm_ceiling_gflops();
  if (!request.options.settings.empty()) out["settings"] = request.options.settings;
  if (request.attention_core) {
    out["attention_core"] = attention_core_results(cases, request, log);
  } else if (request.whole_trial) {
    trial_results(cases, request, out, log);
  } else {
    training_results(cases, request, out, log);
  }
  out["peak_rss_mib"] = peak_resident_mib();
  return out;
}

}  // namespace vitsweep::engine
