package mining_test

import (
	"context"
	"fmt"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/autoid-oss/autoid/mining"
)

func Example() {
	// Four transactions in CSR form: {0 1 2} {0 1} {0 2} {1 2}.
	db, err := mining.NewDB([]int{0, 3, 5, 7, 9}, []int32{0, 1, 2, 0, 1, 0, 2, 1, 2})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	_, err = mining.Mine(ctx, db, mining.Options{MinSupport: 2, Closed: true}, func(itemset []int32, support int) error {
		fmt.Println(itemset, support)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Count only, on the projected database of transactions 0, 1 and 2.
	st, _ := mining.Mine(ctx, db, mining.Options{MinSupportFraction: 0.5, Subset: roaring.BitmapOf(0, 1, 2)}, nil)
	fmt.Println("frequent in {0,1,2}:", st.Itemsets, "by length", st.ByLength[1:])
	fmt.Println("support of {1 2}:", db.Support([]int32{1, 2}))
	// Output:
	// [0] 3
	// [1] 3
	// [0 1] 2
	// [2] 3
	// [0 2] 2
	// [1 2] 2
	// frequent in {0,1,2}: 5 by length [3 2]
	// support of {1 2}: 2
}
