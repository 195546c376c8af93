#ifndef TOCSIN_CZEROMQ_SHIM_H
#define TOCSIN_CZEROMQ_SHIM_H
#include <zmq.h>
// Draft option, honoured by the Debian libzmq build but absent from the stable header.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif
#endif
