#include "net/stream.hpp"
