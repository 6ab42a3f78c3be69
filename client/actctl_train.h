// actctl's training commands (train, jobs, watch, cancel, delete, predict, curves, sweep), over
// actserve.v1.TrainingService.
#ifndef ACTSERVE_CLIENT_ACTCTL_TRAIN_H_
#define ACTSERVE_CLIENT_ACTCTL_TRAIN_H_

#include <string>
#include <vector>

namespace actserve::client {

// Whether `command` is one of the training commands.
bool IsTrainingCommand(const std::string& command);

// Runs `args` (the command and its arguments) against `server`. Returns the exit status: 0 on
// success, 1 for a failed call or a job that did not succeed, 2 for bad usage.
int RunTrainingCommand(const std::vector<std::string>& args, const std::string& server);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_ACTCTL_TRAIN_H_
