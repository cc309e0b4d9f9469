// TensorBoard event files: a TFRecord file (the same framing as the data) whose records are Event protos
// (data/proto/event.proto): first one with file_version "brain.Event:2", then one per logged step, each
// holding that step's scalars as Summary values. TensorBoard reads every file under a run directory whose
// name contains "tfevents"; a resumed run simply adds a new file, as TensorFlow's writers do.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace ff::data {

class EventFileWriter {
 public:
  // Creates `directory` if needed and DIRECTORY/events.out.tfevents.<unix seconds>.<host>.<pid>, and
  // writes the version record. Throws std::runtime_error naming the path when it cannot.
  explicit EventFileWriter(const std::string& directory);

  // Appends one Event at `step` holding every (tag, value) pair, then flushes, so TensorBoard (and a crash)
  // sees whole records only up to the last complete call.
  void add_scalars(const std::vector<std::pair<std::string, double>>& scalars, int64_t step);

  const std::string& path() const { return path_; }

 private:
  void append(const std::string& event_bytes);

  std::string path_;
  std::ofstream out_;
};

struct ScalarEvent {
  int64_t step = 0;
  double wall_time = 0.0;
  std::string tag;
  float value = 0.0f;
};

// Every scalar of an event file in file order (checks the framing CRCs and the version record);
// throws DataError naming the file and offset on a malformed file.
std::vector<ScalarEvent> read_scalar_events(const std::string& path);

}  // namespace ff::data
