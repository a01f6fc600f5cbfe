// Package all registers every built-in strategy; import it for its side
// effect.
package all

import (
	_ "github.com/cleval/cleval/strategies/finetune"
	_ "github.com/cleval/cleval/strategies/replay"
)
