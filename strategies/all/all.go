// Package all registers every built-in strategy; import it for its side
// effect.
package all

import (
	_ "github.com/cleval/cleval/strategies/dualarch"
	_ "github.com/cleval/cleval/strategies/ema"
	_ "github.com/cleval/cleval/strategies/finetune"
	_ "github.com/cleval/cleval/strategies/joint"
	_ "github.com/cleval/cleval/strategies/mask"
	_ "github.com/cleval/cleval/strategies/pcr"
	_ "github.com/cleval/cleval/strategies/project"
	_ "github.com/cleval/cleval/strategies/regularize"
	_ "github.com/cleval/cleval/strategies/replay"
	_ "github.com/cleval/cleval/strategies/sgm"
)
