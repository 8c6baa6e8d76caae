//go:build !unix

package statements

import "time"

func processCPU() time.Duration { return 0 }
