"""The API's protobuf messages and enums, generated from proto/actserve/v1/: actserve.pb.JobSpec,
actserve.pb.Job, actserve.pb.JOB_STATE_SUCCEEDED, actserve.pb.LOSS_MEAN_SQUARED_ERROR, ...
(see training_service.proto and activation_service.proto for every field)."""
# pylint: disable=wildcard-import,unused-wildcard-import
from actserve._generated.proto.actserve.v1.activation_service_pb2 import *  # noqa: F401,F403
from actserve._generated.proto.actserve.v1.training_service_pb2 import *  # noqa: F401,F403
