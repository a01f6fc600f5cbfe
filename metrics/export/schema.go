package export

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Table names, in export order; each is written to NAME.parquet or
// NAME.arrow.
const (
	TableRuns           = "runs"
	TableExperiences    = "experiences"
	TableEvaluations    = "evaluations"
	TableAccuracyMatrix = "accuracy_matrix"
	TableMetrics        = "metrics"
	TableGapEvents      = "gap_events"
)

// Tables lists every table in export order.
var Tables = []string{TableRuns, TableExperiences, TableEvaluations, TableAccuracyMatrix, TableMetrics, TableGapEvents}

func field(name string, t arrow.DataType, nullable bool) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: nullable}
}

var (
	i32   = arrow.PrimitiveTypes.Int32
	i64   = arrow.PrimitiveTypes.Int64
	u64   = arrow.PrimitiveTypes.Uint64
	f64   = arrow.PrimitiveTypes.Float64
	str   = arrow.BinaryTypes.String
	boo   = arrow.FixedWidthTypes.Boolean
	tsUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

func listOf(t arrow.DataType) arrow.DataType {
	return arrow.ListOfField(arrow.Field{Name: "element", Type: t, Nullable: false})
}

// Schema returns the Arrow schema of a table (nil for an unknown name).
func Schema(table string) *arrow.Schema {
	var fs []arrow.Field
	switch table {
	case TableRuns:
		fs = []arrow.Field{
			field("run_id", i64, false), field("key", str, false), field("config_group", str, false),
			field("preset", str, false), field("benchmark", str, false), field("strategy", str, false),
			field("seed", u64, false), field("status", str, false), field("error", str, true),
			field("num_experiences", i32, false), field("eval_subset", str, false),
			field("variants", listOf(str), false), field("iterations", i64, false),
			field("code_version", str, false), field("host", str, false), field("pid", i64, false),
			field("started_at", tsUTC, false), field("ended_at", tsUTC, true),
			field("hidden", listOf(i32), true), field("class_order", listOf(i32), true),
			field("permute_classes", boo, true), field("lr", f64, true), field("momentum", f64, true),
			field("weight_decay", f64, true), field("nesterov", boo, true), field("epochs", i32, true),
			field("batch_size", i32, true), field("eval_every", i32, true), field("eval_size", i32, true),
			field("eval_experiences", str, true), field("strategy_params", str, true),
			field("config", str, false),
		}
	case TableExperiences:
		fs = []arrow.Field{
			field("run_id", i64, false), field("exp", i32, false), field("classes", listOf(i32), false),
			field("task", i32, false), field("train_size", i64, false), field("test_size", i64, false),
			field("eval_size", i64, false), field("start_iteration", i64, true), field("end_iteration", i64, true),
		}
	case TableEvaluations:
		fs = []arrow.Field{
			field("run_id", i64, false), field("variant", str, false), field("iteration", i64, false),
			field("training_exp", i32, false), field("eval_exp", i32, false), field("seen", boo, false),
			field("correct", i64, false), field("total", i64, false), field("accuracy", f64, false),
			field("loss_sum", f64, false), field("loss", f64, false), field("subset", str, false),
		}
	case TableAccuracyMatrix:
		fs = []arrow.Field{
			field("run_id", i64, false), field("variant", str, false), field("row_exp", i32, false),
			field("col_exp", i32, false), field("correct", i64, false), field("total", i64, false),
			field("accuracy", f64, false), field("loss_sum", f64, false),
		}
	case TableMetrics:
		fs = []arrow.Field{
			field("run_id", i64, false), field("variant", str, false), field("metric", str, false),
			field("k", i32, false), field("j", i32, false), field("value", f64, true),
		}
	case TableGapEvents:
		fs = []arrow.Field{
			field("run_id", i64, false), field("variant", str, false), field("to_exp", i32, false),
			field("exp", i32, false), field("boundary_iteration", i64, false), field("end_iteration", i64, false),
			field("acc_before", f64, true), field("trough", f64, true), field("trough_iteration", i64, true),
			field("acc_end", f64, true), field("depth", f64, true), field("time_to_trough", f64, true),
			field("recovery", f64, true), field("r90", f64, true), field("area", f64, true),
		}
	default:
		return nil
	}
	return arrow.NewSchema(fs, nil)
}
