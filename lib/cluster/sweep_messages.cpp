#include "cluster/sweep_messages.hpp"

#include "cluster/mpi_session.hpp"
#include "common/error.hpp"

namespace vitsweep::cluster {

OrderedJson to_json(const SweepSetup& s) {
  return {{"error", s.error},        {"runs_dir", s.runs_dir}, {"probe_file", s.probe_file},
          {"jobs", s.jobs},          {"threads", s.threads},   {"slots_wanted", s.slots_wanted},
          {"log_every", s.log_every}};
}

SweepSetup setup_from_json(const Json& j) {
  SweepSetup s;
  s.error = j.at("error").get<std::string>();
  s.runs_dir = j.at("runs_dir").get<std::string>();
  s.probe_file = j.at("probe_file").get<std::string>();
  s.jobs = j.at("jobs").get<int>();
  s.threads = j.at("threads").get<int>();
  s.slots_wanted = j.at("slots_wanted").get<int64_t>();
  s.log_every = j.at("log_every").get<int64_t>();
  return s;
}

OrderedJson to_json(const NodeHello& h) {
  return {{"host", h.host},
          {"jobs", h.jobs},
          {"threads", h.threads},
          {"sees_runs_dir", h.sees_runs_dir}};
}

NodeHello hello_from_json(const Json& j) {
  return {j.at("host").get<std::string>(), j.at("jobs").get<int>(), j.at("threads").get<int>(),
          j.at("sees_runs_dir").get<bool>()};
}

OrderedJson to_json(const StartTrial& s) {
  return {{"hash", s.launch.hash},
          {"config", s.launch.config},
          {"attempt", s.launch.attempt},
          {"runner_id", s.launch.runner_id}};
}

StartTrial start_from_json(const Json& j) {
  StartTrial s;
  s.launch.hash = j.at("hash").get<std::string>();
  s.launch.config = j.at("config");
  s.launch.attempt = j.at("attempt").get<int64_t>();
  s.launch.runner_id = j.at("runner_id").get<std::string>();
  return s;
}

OrderedJson to_json(const StopTrial& s) {
  return {{"hash", s.hash}, {"now", s.mode == runner::StopMode::now}};
}

StopTrial stop_from_json(const Json& j) {
  return {j.at("hash").get<std::string>(),
          j.at("now").get<bool>() ? runner::StopMode::now : runner::StopMode::at_step_boundary};
}

OrderedJson to_json(const std::vector<runner::LaunchReport>& reports) {
  OrderedJson list = OrderedJson::array();
  for (const runner::LaunchReport& r : reports) {
    if (r.kind == runner::LaunchReport::Kind::line) {
      list.push_back({{"hash", r.hash}, {"line", r.line}});
    } else {
      list.push_back({{"hash", r.hash},
                      {"signaled", r.exit.signaled},
                      {"code", r.exit.code},
                      {"signal", r.exit.signal},
                      {"last_error", r.last_error}});
    }
  }
  return list;
}

std::vector<runner::LaunchReport> reports_from_json(const Json& j) {
  std::vector<runner::LaunchReport> reports;
  for (const Json& r : j) {
    runner::LaunchReport report;
    report.hash = r.at("hash").get<std::string>();
    if (r.contains("line")) {
      report.kind = runner::LaunchReport::Kind::line;
      report.line = r.at("line").get<std::string>();
    } else {
      report.kind = runner::LaunchReport::Kind::exited;
      report.exit = {r.at("signaled").get<bool>(), r.at("code").get<int>(),
                     r.at("signal").get<int>()};
      report.last_error = r.at("last_error").get<std::string>();
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

void send_message(MPI_Comm comm, int rank, MessageTag tag, const OrderedJson& message) {
  const std::string bytes = message.dump();
  MPI_Request request = MPI_REQUEST_NULL;
  // MPI's C API takes a non-const buffer; MPI_Isend only reads it.
  check_mpi(MPI_Isend(const_cast<char*>(bytes.data()), static_cast<int>(bytes.size()), MPI_CHAR,
                      rank, static_cast<int>(tag), comm, &request),
            "MPI_Isend");
  wait_all({&request, 1}, "MPI_Isend");
}

std::optional<Received> receive_message(MPI_Comm comm) {
  int waiting = 0;
  MPI_Status status;
  check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &waiting, &status), "MPI_Iprobe");
  if (!waiting) return std::nullopt;
  int size = 0;
  check_mpi(MPI_Get_count(&status, MPI_CHAR, &size), "MPI_Get_count");
  std::string bytes(static_cast<size_t>(size), '\0');
  check_mpi(MPI_Recv(bytes.data(), size, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, comm,
                     MPI_STATUS_IGNORE),
            "MPI_Recv");
  const int tag = status.MPI_TAG;
  if (tag < static_cast<int>(MessageTag::setup) || tag > static_cast<int>(MessageTag::shutdown)) {
    fail("internal: MPI message with unknown tag {} from rank {}", tag, status.MPI_SOURCE);
  }
  const std::string source = fmt::format("MPI message from rank {}", status.MPI_SOURCE);
  Json body = parse_json_data(bytes, source);
  if (body.is_discarded()) fail("internal: {} is not JSON", source);
  return Received{status.MPI_SOURCE, static_cast<MessageTag>(tag), std::move(body)};
}

OrderedJson broadcast_message(MPI_Comm comm, int root, const OrderedJson& message) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  std::string bytes = rank == root ? message.dump() : std::string();
  uint64_t size = bytes.size();
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(MPI_Ibcast(&size, 1, MPI_UINT64_T, root, comm, &request), "MPI_Ibcast");
  wait_all({&request, 1}, "MPI_Ibcast");
  bytes.resize(size);
  check_mpi(MPI_Ibcast(bytes.data(), static_cast<int>(size), MPI_CHAR, root, comm, &request),
            "MPI_Ibcast");
  wait_all({&request, 1}, "MPI_Ibcast");
  OrderedJson body = parse_json_data<OrderedJson>(bytes, "MPI broadcast");
  if (body.is_discarded()) fail("internal: an MPI broadcast is not JSON");
  return body;
}

}  // namespace vitsweep::cluster
