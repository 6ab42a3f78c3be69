#include "server/jobs/job_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/util/status_macros.h"
#include "server/jobs/durable_file.h"
#include "server/jobs/record_codec.h"

namespace actserve::server {

// The store's field lists (record_codec.h), found by the codec through argument-dependent lookup
// (so outside the unnamed namespace). A sweep's jobs are records within its record.
template <typename Io, ConstOr<JobRecord> T>
void Fields(Io& io, T& r) {
  io(r.id);
  io(r.sweep_id);
  io(r.name);
  io(r.description);
  io(r.owner);
  io(r.request_id);
  io.Enum(r.state, JobState::kCancelled);
  io(r.create_time);
  io(r.start_time);
  io(r.end_time);
  io(r.resumed);
  io(r.error);
  io(r.checkpoint);
  io(r.checkpoint_step);
}

template <typename Io, ConstOr<JobOutcome> T>
void Fields(Io& io, T& o) {
  io(o.result);
  io(o.weights);
}

template <typename Io, ConstOr<SweepRecord> T>
void Fields(Io& io, T& s) {
  io(s.id);
  io(s.description);
  io(s.request_id);
  io(s.jobs);
}

namespace {

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS jobs(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT UNIQUE NOT NULL, record BLOB NOT NULL, recipe BLOB NOT NULL, outcome BLOB);"
    "CREATE TABLE IF NOT EXISTS reports(seq INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY(seq, idx)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS sweeps(id TEXT PRIMARY KEY, record BLOB NOT NULL);";

// Whether the database's files cannot grow: its file system has under 1 MiB free, or a file
// is within 1 MiB of the process's file-size limit (RLIMIT_FSIZE). SQLite reports the second
// (EFBIG) as a plain I/O error, and its errno does not survive to the caller.
bool CannotGrow(sqlite3* db) {
  const char* path = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  if (path == nullptr || *path == 0) return false;
  constexpr uint64_t kRoom = 1 << 20;
  struct statvfs fs;
  if (statvfs(path, &fs) == 0 && uint64_t{fs.f_bavail} * fs.f_frsize < kRoom) return true;
  struct rlimit limit;
  if (getrlimit(RLIMIT_FSIZE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return false;
  for (const char* suffix : {"", "-wal"}) {
    struct stat st;
    if (stat(absl::StrCat(path, suffix).c_str(), &st) == 0 &&
        static_cast<uint64_t>(st.st_size) + kRoom >= limit.rlim_cur) {
      return true;
    }
  }
  return false;
}

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  const std::string message = absl::StrCat("job store: ", what, ": ",
                                           db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if ((rc & 0xff) == SQLITE_IOERR && CannotGrow(db)) {
    return absl::ResourceExhaustedError(absl::StrCat(message, " (the state directory is full)"));
  }
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(absl::StrCat(message, " (the state directory is full)"));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      return absl::PermissionDeniedError(message);
    default:
      return absl::UnavailableError(message);
  }
}

// A prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  absl::Status prepared() const {
    return rc_ == SQLITE_OK ? absl::OkStatus() : SqliteError(db_, rc_, "prepare");
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT);
  }
  void BindText(int i, const std::string& v) {
    sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  absl::Status Run(absl::string_view what) {
    ACTSERVE_RETURN_IF_ERROR(prepared());
    const int rc = Step();
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? absl::OkStatus() : SqliteError(db_, rc, what);
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string Blob(int col) {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p == nullptr
               ? std::string()
               : std::string(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, col));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

constexpr absl::string_view kRecord = "the job's record", kRecipe = "the job's recipe",
                            kOutcome = "the job's outcome", kSweep = "a sweep's record",
                            kReport = "a progress report";

// Whether a SQLite database passes quick_check.
bool Sound(sqlite3* db) {
  Statement check(db, "PRAGMA quick_check");
  if (!check.prepared().ok() || check.Step() != SQLITE_ROW) return false;
  const std::string first = check.Blob(0);
  return first == "ok";
}

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir) / "checkpoints", ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrFormat("--state_dir: cannot create %s/checkpoints: %s", dir, ec.message()));
  }
  if (access(dir.c_str(), W_OK) != 0 ||
      access((std::filesystem::path(dir) / "checkpoints").c_str(), W_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrFormat("--state_dir: %s is not writable by this process (uid %d)", dir, getuid()));
  }
  const std::string lock_path = absl::StrCat(dir, "/LOCK");
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return FileError(errno, "--state_dir: open", lock_path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    const ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
    close(fd);
    return absl::FailedPreconditionError(absl::StrFormat(
        "--state_dir: %s is in use by another actserve (pid %s); give each server its own "
        "state directory",
        dir, n > 0 ? absl::string_view(pid, n) : "unknown"));
  }
  const std::string pid = absl::StrCat(getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    const int error = errno;
    close(fd);
    return FileError(error, "--state_dir: write", lock_path);
  }
  std::unique_ptr<JobStore> store(new JobStore(dir, fd));
  ACTSERVE_RETURN_IF_ERROR(store->OpenDatabase());
  return store;
}

JobStore::~JobStore() {
  {
    absl::MutexLock lock(&mu_);
    sqlite3_close_v2(db_);
  }
  close(lock_fd_);  // releases the lock
}

absl::Status JobStore::Exec(const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return absl::OkStatus();
  absl::Status s = SqliteError(db_, rc, sql);
  sqlite3_free(error);
  return s;
}

absl::Status JobStore::OpenDatabase() {
  absl::MutexLock lock(&mu_);
  const std::string path = absl::StrCat(dir_, "/jobs.db");
  auto open = [&]() -> absl::Status {
    const int rc = sqlite3_open_v2(
        path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
        nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, absl::StrCat("open ", path));
    sqlite3_busy_timeout(db_, 5000);
    // WAL with synchronous=FULL: a commit is on disk when it returns (NORMAL would lose the last
    // commits at a power cut).
    ACTSERVE_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    ACTSERVE_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
    return Exec(kSchema);
  };
  absl::Status opened = open();
  if (opened.ok() && Sound(db_)) return absl::OkStatus();
  if (!opened.ok() && !absl::IsDataLoss(opened)) return opened;
  // Damaged: keep it aside, start afresh, and copy over every row it still yields.
  sqlite3_close_v2(db_);
  db_ = nullptr;
  const std::string damaged = absl::StrCat(path, ".damaged-", absl::ToUnixSeconds(absl::Now()));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::rename(absl::StrCat(path, suffix).c_str(), absl::StrCat(damaged, suffix).c_str());
  }
  ACTSERVE_RETURN_IF_ERROR(open());
  sqlite3* old = nullptr;
  int64_t copied[3] = {0, 0, 0};
  if (sqlite3_open_v2(damaged.c_str(), &old, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    // Each table's rows in order, until the first one SQLite cannot read; ids are text, seq
    // and idx integers, the rest sealed records (checked when the jobs are loaded).
    struct Table {
      const char *read, *write;
      const char* kinds;  // per column: i(nteger), t(ext), b(lob)
    };
    const Table tables[3] = {
        {"SELECT seq, id, record, recipe, outcome FROM jobs ORDER BY seq",
         "INSERT OR IGNORE INTO jobs(seq, id, record, recipe, outcome) VALUES(?, ?, ?, ?, ?)",
         "itbbb"},
        {"SELECT seq, idx, data FROM reports",
         "INSERT OR IGNORE INTO reports(seq, idx, data) VALUES(?, ?, ?)", "iib"},
        {"SELECT id, record FROM sweeps", "INSERT OR IGNORE INTO sweeps(id, record) VALUES(?, ?)",
         "tb"}};
    for (int t = 0; t < 3; ++t) {
      Statement read(old, tables[t].read);
      if (!read.prepared().ok()) continue;
      while (read.Step() == SQLITE_ROW) {
        Statement write(db_, tables[t].write);
        for (int c = 0; tables[t].kinds[c] != 0; ++c) {
          switch (tables[t].kinds[c]) {
            case 'i':
              write.Bind(c + 1, read.Int(c));
              break;
            case 't':
              write.BindText(c + 1, read.Blob(c));
              break;
            default:
              write.Bind(c + 1, read.Blob(c));
          }
        }
        if (write.Run("salvage").ok()) ++copied[t];
      }
    }
  }
  sqlite3_close_v2(old);
  salvage_report_ = absl::StrFormat(
      "%s was damaged; it is kept as %s, and %d jobs, %d progress reports and %d sweeps were "
      "read from it into a fresh database",
      path, damaged, copied[0], copied[1], copied[2]);
  return absl::OkStatus();
}

template <typename Body>
absl::Status JobStore::Transaction(Body body) {
  ACTSERVE_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  absl::Status s = body();
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok()) Exec("ROLLBACK").IgnoreError();
  return s;
}

absl::StatusOr<int64_t> JobStore::SeqOf(const std::string& id) {
  Statement find(db_, "SELECT seq FROM jobs WHERE id = ?");
  ACTSERVE_RETURN_IF_ERROR(find.prepared());
  find.BindText(1, id);
  const int rc = find.Step();
  if (rc == SQLITE_ROW) return find.Int(0);
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("job store: no job ", id));
  return SqliteError(db_, rc, "find a job");
}

absl::Status JobStore::PutReports(int64_t seq, int64_t first,
                                  const std::vector<train::Progress>& reports) {
  for (size_t i = 0; i < reports.size(); ++i) {
    Statement put(db_, "INSERT OR REPLACE INTO reports(seq, idx, data) VALUES(?, ?, ?)");
    put.Bind(1, seq);
    put.Bind(2, first + static_cast<int64_t>(i));
    put.Bind(3, Encode(reports[i]));
    ACTSERVE_RETURN_IF_ERROR(put.Run("store a progress report"));
  }
  return absl::OkStatus();
}

absl::Status JobStore::Add(const std::vector<std::pair<JobRecord, std::string>>& jobs,
                           const SweepRecord* sweep) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    for (const auto& [record, recipe] : jobs) {
      Statement add(db_, "INSERT INTO jobs(id, record, recipe) VALUES(?, ?, ?)");
      add.BindText(1, record.id);
      add.Bind(2, Encode(record));
      add.Bind(3, Encode(recipe));
      ACTSERVE_RETURN_IF_ERROR(add.Run("store a job"));
    }
    if (sweep != nullptr) {
      Statement add(db_, "INSERT INTO sweeps(id, record) VALUES(?, ?)");
      add.BindText(1, sweep->id);
      add.Bind(2, Encode(*sweep));
      ACTSERVE_RETURN_IF_ERROR(add.Run("store a sweep"));
    }
    return absl::OkStatus();
  });
}

absl::Status JobStore::Update(const JobRecord& record, int64_t first,
                              const std::vector<train::Progress>& reports) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    ACTSERVE_ASSIGN_OR_RETURN(int64_t seq, SeqOf(record.id));
    Statement update(db_, "UPDATE jobs SET record = ? WHERE seq = ?");
    update.Bind(1, Encode(record));
    update.Bind(2, seq);
    ACTSERVE_RETURN_IF_ERROR(update.Run("update a job"));
    return PutReports(seq, first, reports);
  });
}

absl::Status JobStore::Finish(const JobRecord& record, const JobOutcome& outcome, int64_t first,
                              const std::vector<train::Progress>& reports) {
  absl::MutexLock lock(&mu_);
  return Transaction([&]() -> absl::Status {
    ACTSERVE_ASSIGN_OR_RETURN(int64_t seq, SeqOf(record.id));
    // The recipe (which may hold the data) is not needed once the job has ended.
    Statement update(db_, "UPDATE jobs SET record = ?, outcome = ?, recipe = ? WHERE seq = ?");
    update.Bind(1, Encode(record));
    update.Bind(2, Encode(outcome));
    update.Bind(3, Encode(std::string()));
    update.Bind(4, seq);
    ACTSERVE_RETURN_IF_ERROR(update.Run("finish a job"));
    return PutReports(seq, first, reports);
  });
}

absl::Status JobStore::Delete(const std::string& id) {
  std::string checkpoint;
  {
    absl::MutexLock lock(&mu_);
    ACTSERVE_RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
      absl::StatusOr<int64_t> seq = SeqOf(id);
      if (absl::IsNotFound(seq.status())) return absl::OkStatus();
      ACTSERVE_RETURN_IF_ERROR(seq.status());
      Statement read(db_, "SELECT record FROM jobs WHERE seq = ?");
      read.Bind(1, *seq);
      JobRecord record;
      if (read.prepared().ok() && read.Step() == SQLITE_ROW &&
          DecodeInto(read.Blob(0), kRecord, &record).ok()) {
        checkpoint = record.checkpoint;
      }
      for (const char* sql :
           {"DELETE FROM reports WHERE seq = ?", "DELETE FROM jobs WHERE seq = ?"}) {
        Statement del(db_, sql);
        del.Bind(1, *seq);
        ACTSERVE_RETURN_IF_ERROR(del.Run("delete a job"));
      }
      return absl::OkStatus();
    }));
  }
  if (!checkpoint.empty()) RemoveCheckpoint(checkpoint);
  return absl::OkStatus();
}

absl::StatusOr<JobStore::Contents> JobStore::Load() {
  absl::MutexLock lock(&mu_);
  Contents out;
  Statement jobs(db_, "SELECT seq, id, record, recipe, outcome FROM jobs ORDER BY seq");
  ACTSERVE_RETURN_IF_ERROR(jobs.prepared());
  int rc;
  while ((rc = jobs.Step()) == SQLITE_ROW) {
    StoredJob job;
    const int64_t seq = jobs.Int(0);
    job.record.id = jobs.Blob(1);
    job.damage = DecodeInto(jobs.Blob(2), kRecord, &job.record);
    if (job.damage.ok()) job.damage = DecodeInto(jobs.Blob(3), kRecipe, &job.recipe);
    const std::string outcome = jobs.Blob(4);
    if (job.damage.ok() && !outcome.empty())
      job.damage = DecodeInto(outcome, kOutcome, &job.outcome);
    if (job.damage.ok()) {
      Statement reports(db_, "SELECT idx, data FROM reports WHERE seq = ? ORDER BY idx");
      reports.Bind(1, seq);
      while (job.damage.ok() && reports.Step() == SQLITE_ROW) {
        absl::StatusOr<train::Progress> p = Decode<train::Progress>(reports.Blob(1), kReport);
        if (!p.ok() || reports.Int(0) != static_cast<int64_t>(job.reports.size())) {
          job.damage = p.ok() ? absl::DataLossError("a progress report is missing") : p.status();
        } else {
          job.reports.push_back(*std::move(p));
        }
      }
    }
    if (job.record.id.empty() || job.record.id != jobs.Blob(1)) job.record.id = jobs.Blob(1);
    out.jobs.push_back(std::move(job));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "read the jobs");
  Statement sweeps(db_, "SELECT record FROM sweeps");
  ACTSERVE_RETURN_IF_ERROR(sweeps.prepared());
  while ((rc = sweeps.Step()) == SQLITE_ROW) {
    SweepRecord sweep;
    if (DecodeInto(sweeps.Blob(0), kSweep, &sweep).ok()) out.sweeps.push_back(std::move(sweep));
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, rc, "read the sweeps");
  return out;
}

absl::StatusOr<std::string> JobStore::WriteCheckpoint(const std::string& id, int64_t step,
                                                      const train::TrainCheckpoint& checkpoint) {
  const std::string name = absl::StrCat(id, "-", step, ".ckpt");
  ACTSERVE_RETURN_IF_ERROR(
      WriteFileDurably(absl::StrCat(dir_, "/checkpoints"), name, Encode(checkpoint)));
  return name;
}

absl::StatusOr<train::TrainCheckpoint> JobStore::ReadCheckpoint(const std::string& name) const {
  ACTSERVE_ASSIGN_OR_RETURN(std::string bytes,
                            ReadWholeFile(absl::StrCat(dir_, "/checkpoints/", name)));
  return Decode<train::TrainCheckpoint>(bytes, "the checkpoint");
}

void JobStore::RemoveCheckpoint(const std::string& name) {
  std::remove(absl::StrCat(dir_, "/checkpoints/", name).c_str());
}

int64_t JobStore::bytes_used() const {
  int64_t total = 0;
  std::error_code ec;
  for (const char* file : {"/jobs.db", "/jobs.db-wal", "/jobs.db-shm"}) {
    const auto size = std::filesystem::file_size(absl::StrCat(dir_, file), ec);
    if (!ec) total += static_cast<int64_t>(size);
  }
  for (const auto& entry :
       std::filesystem::directory_iterator(absl::StrCat(dir_, "/checkpoints"), ec)) {
    const auto size = entry.file_size(ec);
    if (!ec) total += static_cast<int64_t>(size);
  }
  return total;
}

}  // namespace actserve::server
