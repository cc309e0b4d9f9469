#include "data/event_file.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "data/data_error.h"
#include "data/proto/event.pb.h"
#include "data/tfrecord.h"

namespace ff::data {
namespace {

constexpr const char* kFileVersion = "brain.Event:2";

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

EventFileWriter::EventFileWriter(const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) throw std::runtime_error("cannot create the event directory " + directory + ": " + error.message());
  const double wall_time = now_seconds();
  path_ = (std::filesystem::path(directory) / ("events.out.tfevents." + std::to_string(int64_t(wall_time)) + "." +
                                               host_name() + "." + std::to_string(getpid())))
              .string();
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw std::runtime_error("cannot open the event file " + path_);
  proto::Event event;
  event.set_wall_time(wall_time);
  event.set_file_version(kFileVersion);
  append(event.SerializeAsString());
}

void EventFileWriter::add_scalars(const std::vector<std::pair<std::string, double>>& scalars, int64_t step) {
  proto::Event event;
  event.set_wall_time(now_seconds());
  event.set_step(step);
  proto::Summary* summary = event.mutable_summary();
  for (const auto& [tag, value] : scalars) {
    proto::SummaryValue* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(float(value));
  }
  append(event.SerializeAsString());
}

void EventFileWriter::append(const std::string& event_bytes) {
  const std::string record = encode_tfrecord(event_bytes);
  out_.write(record.data(), std::streamsize(record.size()));
  out_.flush();
  if (!out_) throw std::runtime_error("cannot write the event file " + path_);
}

std::vector<ScalarEvent> read_scalar_events(const std::string& path) {
  TFRecordReader reader(path);
  std::vector<ScalarEvent> out;
  std::string_view record;
  bool first = true;
  while (reader.next(record)) {
    proto::Event event;
    if (!event.ParseFromArray(record.data(), int(record.size())))
      throw DataError(path, reader.record_offset(), "", "record is not an Event proto");
    if (first) {
      if (event.file_version() != kFileVersion)
        throw DataError(path, reader.record_offset(), "",
                        "first record is not the file version '" + std::string(kFileVersion) + "'");
      first = false;
      continue;
    }
    for (const proto::SummaryValue& v : event.summary().value())
      out.push_back({event.step(), event.wall_time(), v.tag(), v.simple_value()});
  }
  if (first) throw DataError(path, 0, "", "empty event file (no version record)");
  return out;
}

}  // namespace ff::data
