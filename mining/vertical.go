package mining

import "github.com/RoaringBitmap/roaring/v2"

// TIDsIn returns the transactions of subset (nil: all) that hold every
// item of itemset, as a fresh bitmap; the smallest operand is intersected
// first. An empty itemset gives a copy of subset (all transactions when
// nil).
func (db *DB) TIDsIn(itemset []int32, subset *roaring.Bitmap) *roaring.Bitmap {
	return db.tids(itemset, subset)
}
