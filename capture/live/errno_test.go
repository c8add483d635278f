package live

import "syscall"

var (
	errEPERM    error = syscall.EPERM
	errENETDOWN error = syscall.ENETDOWN
	errENODEV   error = syscall.ENODEV
)
